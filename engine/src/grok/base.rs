//! The built-in pattern table every CrowdSec grok host starts with (grokky `NewBase`).

/// `(name, pattern)` pairs defined before any pattern file is loaded.
pub(crate) const BASE_PATTERNS: &[(&str, &str)] = &[
    ("USERNAME", r#"[a-zA-Z0-9._-]+"#),
    ("USER", r#"%{USERNAME}"#),
    ("EMAILLOCALPART", r#"[a-zA-Z0-9_.+-=:]+"#),
    (
        "HOSTNAME",
        r#"\b[0-9A-Za-z][0-9A-Za-z-]{0,62}(?:\.[0-9A-Za-z][0-9A-Za-z-]{0,62})*(\.?|\b)"#,
    ),
    ("EMAILADDRESS", r#"%{EMAILLOCALPART}@%{HOSTNAME}"#),
    ("HTTPDUSER", r#"%{EMAILADDRESS}|%{USER}"#),
    ("INT", r#"[+-]?(?:[0-9]+)"#),
    (
        "BASE10NUM",
        r#"[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+))"#,
    ),
    ("NUMBER", r#"%{BASE10NUM}"#),
    ("BASE16NUM", r#"[+-]?(?:0x)?(?:[0-9A-Fa-f]+)"#),
    (
        "BASE16FLOAT",
        r#"\b[+-]?(?:0x)?(?:(?:[0-9A-Fa-f]+(?:\.[0-9A-Fa-f]*)?)|(?:\.[0-9A-Fa-f]+))\b"#,
    ),
    ("POSINT", r#"\b[1-9][0-9]*\b"#),
    ("NONNEGINT", r#"\b[0-9]+\b"#),
    ("WORD", r#"\b\w+\b"#),
    ("NOTSPACE", r#"\S+"#),
    ("SPACE", r#"\s*"#),
    ("DATA", r#".*?"#),
    ("GREEDYDATA", r#".*"#),
    (
        "QUOTEDSTRING",
        r#"("(\\.|[^\\"]+)+")|""|('(\\.|[^\\']+)+')|''|(`(\\.|[^\\`]+)+`)|``"#,
    ),
    (
        "UUID",
        r#"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}"#,
    ),
    ("CISCOMAC", r#"(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}"#),
    ("WINDOWSMAC", r#"(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2}"#),
    ("COMMONMAC", r#"(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2}"#),
    ("MAC", r#"%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC}"#),
    (
        "IPV6",
        r#"((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?"#,
    ),
    (
        "IPV4",
        r#"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"#,
    ),
    ("IP", r#"%{IPV6}|%{IPV4}"#),
    ("IPORHOST", r#"%{IP}|%{HOSTNAME}"#),
    ("HOSTPORT", r#"%{IPORHOST}:%{POSINT}"#),
    ("UNIXPATH", r#"(/([\w_%!$@:.,~-]+|\\.)*)+"#),
    ("TTY", r#"/dev/(pts|tty([pq])?)(\w+)?/?(?:[0-9]+)"#),
    ("WINPATH", r#"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+"#),
    ("PATH", r#"%{UNIXPATH}|%{WINPATH}"#),
    ("URIPROTO", r#"[A-Za-z]+(\+[A-Za-z+]+)?"#),
    ("URIHOST", r#"%{IPORHOST}(?::%{POSINT:port})?"#),
    ("URIPATH", r#"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%_\-]*)+"#),
    (
        "URIPARAM",
        r#"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*"#,
    ),
    ("URIPATHPARAM", r#"%{URIPATH}(?:%{URIPARAM})?"#),
    (
        "URI",
        r#"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?"#,
    ),
    (
        "MONTH",
        r#"\bJan(?:uary|uar)?|Feb(?:ruary|ruar)?|M(?:a|ä)?r(?:ch|z)?|Apr(?:il)?|Ma(?:y|i)?|Jun(?:e|i)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|O(?:c|k)?t(?:ober)?|Nov(?:ember)?|De(?:c|z)(?:ember)?\b"#,
    ),
    ("MONTHNUM", r#"0?[1-9]|1[0-2]"#),
    ("MONTHNUM2", r#"0[1-9]|1[0-2]"#),
    ("MONTHDAY", r#"(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9]"#),
    (
        "DAY",
        r#"Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?"#,
    ),
    ("YEAR", r#"(?:\d\d){1,2}"#),
    ("HOUR", r#"2[0123]|[01]?[0-9]"#),
    ("MINUTE", r#"[0-5][0-9]"#),
    ("SECOND", r#"(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?"#),
    ("TIME", r#"%{HOUR}:%{MINUTE}:%{SECOND}"#),
    ("DATE_US", r#"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}"#),
    ("DATE_EU", r#"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}"#),
    ("DATE_X", r#"%{YEAR}/%{MONTHNUM2}/%{MONTHDAY}"#),
    ("ISO8601_TIMEZONE", r#"Z|[+-]%{HOUR}(?::?%{MINUTE})"#),
    ("ISO8601_SECOND", r#"%{SECOND}|60"#),
    (
        "TIMESTAMP_ISO8601",
        r#"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?"#,
    ),
    ("DATE", r#"%{DATE_US}|%{DATE_EU}|%{DATE_X}"#),
    ("DATESTAMP", r#"%{DATE}[- ]%{TIME}"#),
    ("TZ", r#"[A-Z]{3}"#),
    ("NUMTZ", r#"[+-]\d{4}"#),
    (
        "DATESTAMP_RFC822",
        r#"%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}"#,
    ),
    (
        "DATESTAMP_RFC2822",
        r#"%{DAY}, %{MONTHDAY} %{MONTH} %{YEAR} %{TIME} %{ISO8601_TIMEZONE}"#,
    ),
    (
        "DATESTAMP_OTHER",
        r#"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}"#,
    ),
    (
        "DATESTAMP_EVENTLOG",
        r#"%{YEAR}%{MONTHNUM2}%{MONTHDAY}%{HOUR}%{MINUTE}%{SECOND}"#,
    ),
    (
        "HTTPDERROR_DATE",
        r#"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{YEAR}"#,
    ),
    ("ANSIC", r#"%{DAY} %{MONTH} [_123]\d %{TIME} %{YEAR}""#),
    (
        "UNIXDATE",
        r#"%{DAY} %{MONTH} [_123]\d %{TIME} %{TZ} %{YEAR}"#,
    ),
    (
        "RUBYDATE",
        r#"%{DAY} %{MONTH} [0-3]\d %{TIME} %{NUMTZ} %{YEAR}"#,
    ),
    ("RFC822Z", r#"[0-3]\d %{MONTH} %{YEAR} %{TIME} %{NUMTZ}"#),
    (
        "RFC850",
        r#"%{DAY}, [0-3]\d-%{MONTH}-%{YEAR} %{TIME} %{TZ}"#,
    ),
    (
        "RFC1123",
        r#"%{DAY}, [0-3]\d %{MONTH} %{YEAR} %{TIME} %{TZ}"#,
    ),
    (
        "RFC1123Z",
        r#"%{DAY}, [0-3]\d %{MONTH} %{YEAR} %{TIME} %{NUMTZ}"#,
    ),
    (
        "RFC3339",
        r#"%{YEAR}-[01]\d-[0-3]\dT%{TIME}%{ISO8601_TIMEZONE}"#,
    ),
    (
        "RFC3339NANO",
        r#"%{YEAR}-[01]\d-[0-3]\dT%{TIME}\.\d{9}%{ISO8601_TIMEZONE}"#,
    ),
    ("KITCHEN", r#"\d{1,2}:\d{2}(AM|PM|am|pm)"#),
    ("SYSLOGTIMESTAMP", r#"%{MONTH} +%{MONTHDAY} %{TIME}"#),
    ("PROG", r#"[\x21-\x5a\x5c\x5e-\x7e]+"#),
    ("SYSLOGPROG", r#"%{PROG:program}(?:\[%{POSINT:pid}\])?"#),
    ("SYSLOGHOST", r#"%{IPORHOST}"#),
    (
        "SYSLOGFACILITY",
        r#"<%{NONNEGINT:facility}.%{NONNEGINT:priority}>"#,
    ),
    ("HTTPDATE", r#"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}"#),
    ("QS", r#"%{QUOTEDSTRING}"#),
    (
        "LOGLEVEL",
        r#"[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?"#,
    ),
    (
        "SYSLOGBASE",
        r#"%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:logsource} %{SYSLOGPROG}:"#,
    ),
    (
        "COMMONAPACHELOG",
        r#"%{IPORHOST:clientip} %{HTTPDUSER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})" %{NUMBER:response} (?:%{NUMBER:bytes}|-)"#,
    ),
    (
        "COMBINEDAPACHELOG",
        r#"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}"#,
    ),
    (
        "HTTPD20_ERRORLOG",
        r#"\[%{HTTPDERROR_DATE:timestamp}\] \[%{LOGLEVEL:loglevel}\] (?:\[client %{IPORHOST:clientip}\] ){0,1}%{GREEDYDATA:errormsg}"#,
    ),
    (
        "HTTPD24_ERRORLOG",
        r#"\[%{HTTPDERROR_DATE:timestamp}\] \[%{WORD:module}:%{LOGLEVEL:loglevel}\] \[pid %{POSINT:pid}(:tid %{NUMBER:tid})?\]( \(%{POSINT:proxy_errorcode}\)%{DATA:proxy_errormessage}:)?( \[client %{IPORHOST:client}:%{INT:clientport}\])? %{DATA:errorcode}: %{GREEDYDATA:message}"#,
    ),
    (
        "HTTPD_ERRORLOG",
        r#"%{HTTPD20_ERRORLOG}|%{HTTPD24_ERRORLOG}"#,
    ),
];
