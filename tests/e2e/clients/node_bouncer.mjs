// Asks CrowdSec's Node.js bouncer (@crowdsec/nodejs-bouncer) what to do with two IPs, in live
// mode (GET /v1/decisions?ip=) and in stream mode (GET /v1/decisions/stream), and pushes its
// usage metrics (POST /v1/usage-metrics). Prints one JSON object as its last stdout line.
//
//   node node_bouncer.mjs NODE_MODULES_DIR LAPI_URL API_KEY ATTACKER_IP BYSTANDER_IP
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, url, key, attacker, bystander] = process.argv.slice(2);
if (!bystander) {
  console.error('usage: node node_bouncer.mjs NODE_MODULES_DIR LAPI_URL API_KEY ATTACKER_IP BYSTANDER_IP');
  process.exit(2);
}
const entry = path.join(modules, '@crowdsec', 'nodejs-bouncer', 'dist', 'index.js');
const { CrowdSecBouncer } = await import(pathToFileURL(entry).href);
// The library appends the path to the URL after a '/'.
const lapi = url.replace(/\/+$/, '');

const out = {};
try {
  const live = new CrowdSecBouncer({ url: lapi, bouncerApiToken: key, cleanIpCacheDuration: 1 });
  out.health = await live.lapiClient.checkConnectionHealth();
  const a = await live.getIpRemediation(attacker);
  const b = await live.getIpRemediation(bystander);
  out.live = { attacker: a.remediation, bystander: b.remediation, attacker_origin: a.origin };
  out.responses = {
    attacker: (await live.getResponse({ ip: attacker, ...a })).status,
    bystander: (await live.getResponse({ ip: bystander, ...b })).status,
  };
  await live.pushUsageMetrics('hivewall-e2e-node', '0.2.0');
  out.metrics_pushed = true;

  const stream = new CrowdSecBouncer({ url: lapi, bouncerApiToken: key, streamMode: true });
  const refreshed = await stream.refreshDecisions();
  out.stream = {
    new: refreshed.new.map((d) => ({ id: d.id, value: d.value, origin: d.origin })),
    attacker: (await stream.getIpRemediation(attacker)).remediation,
    bystander: (await stream.getIpRemediation(bystander)).remediation,
  };
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
console.log(JSON.stringify(out));
