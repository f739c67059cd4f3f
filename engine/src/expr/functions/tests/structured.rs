use std::collections::BTreeMap;

use super::*;
use crate::expr::functions::{Stash, parse_kv, unmarshal_json};

#[test]
fn json_extract() {
    let f = funcs();
    let je = |b: &str, p: &str| as_string(&call_s(&f, "JsonExtract", &[b, p]));
    assert_eq!(je(r#"{"test" : "1234"}"#, "test"), "1234");
    assert_eq!(je(r#"{"test" : "1234"}"#, "non_existing_field"), "");
    assert_eq!(je(r#"{"test" : {"a": "b"}}"#, "test.a"), "b");
    assert_eq!(je(r#"{"test" : {"a": "b"}}"#, "test"), r#"{"a": "b"}"#);
    assert_eq!(
        je(r#"{"n": 42, "f": 1.5e3, "t": true, "z": null}"#, "n"),
        "42"
    );
    assert_eq!(
        je(r#"{"n": 42, "f": 1.5e3, "t": true, "z": null}"#, "f"),
        "1.5e3"
    );
    assert_eq!(
        je(r#"{"n": 42, "f": 1.5e3, "t": true, "z": null}"#, "t"),
        "true"
    );
    assert_eq!(
        je(r#"{"n": 42, "f": 1.5e3, "t": true, "z": null}"#, "z"),
        "null"
    );
    assert_eq!(je(r#"{"a": [{"b": 1}, {"b": 2}]}"#, "a[1].b"), "2");
    assert_eq!(je(r#"[{"b": 1}, {"b": 2}]"#, "[0].b"), "1");
    assert_eq!(je(r#"{"a": [1]}"#, "a[5]"), "");
    // Strings are returned raw, escapes untouched.
    assert_eq!(je(r#"{"log": "a\"b"}"#, "log"), r#"a\"b"#);
    assert_eq!(je(r#"{"x": "1"} trailing"#, "x"), "1");
    assert_eq!(je("not json", "x"), "");
    assert_eq!(je(r#"{"a\u0062": 1}"#, "ab"), "1");
    assert_eq!(je(r#"{"a": {"b": 1}, "b": 2}"#, "b"), "2");
}

#[test]
fn json_extract_unescape_and_lib() {
    let f = funcs();
    let blob = r#"{"log" : "\"GET /JBNwtQ6i.blt HTTP/1.1\" 200 13 \"-\" \"Craftbot\"", "n": 1, "o": {"k": "v\n"}}"#;
    let r = call(&f, "JsonExtractUnescape", &[s(blob), s("log")]).unwrap();
    assert_eq!(
        as_string(&r),
        "\"GET /JBNwtQ6i.blt HTTP/1.1\" 200 13 \"-\" \"Craftbot\""
    );
    assert_eq!(
        as_string(&call(&f, "JsonExtractUnescape", &[s(blob), s("o"), s("k")]).unwrap()),
        "v\n"
    );
    assert_eq!(
        as_string(&call(&f, "JsonExtractUnescape", &[s(blob), s("n")]).unwrap()),
        ""
    );
    assert_eq!(
        as_string(&call(&f, "JsonExtractUnescape", &[s(blob), s("nope")]).unwrap()),
        ""
    );
    assert_eq!(
        as_string(&call(&f, "JsonExtractLib", &[s(blob), s("o"), s("k")]).unwrap()),
        "v\\n"
    );
    assert_eq!(
        as_string(&call(&f, "JsonExtractLib", &[s("[1, 2]")]).unwrap()),
        "[1, 2]"
    );
}

#[test]
fn json_extract_slice_and_object() {
    let f = funcs();
    let sl = |b: &str, p: &str| call_s(&f, "JsonExtractSlice", &[b, p]);
    assert!(matches!(sl(r#"{"test" : "1234"}"#, "test"), Value::List(ref l) if l.is_empty()));
    assert_eq!(strs(&sl(r#"{"test" : ["1234"]}"#, "test")), ["1234"]);
    let v = sl(r#"{"test": {"foo": [{"a":"b"}]}}"#, "test.foo");
    assert_eq!(format!("{v:?}"), r#"[{"a": "b"}]"#);
    assert!(matches!(sl(r#"{"test: "11234"}"#, "foo"), Value::List(ref l) if l.is_empty()));
    // Go decodes numbers as float64.
    assert!(
        matches!(sl(r#"{"a": [1]}"#, "a"), Value::List(ref l) if matches!(l[0], Value::Float(x) if x == 1.0))
    );
    let o = call_s(
        &f,
        "JsonExtractObject",
        &[r#"{"test": {"foo": [{"a":"b"}]}}"#, "test.foo[0]"],
    );
    assert_eq!(format!("{o:?}"), r#"{"a": "b"}"#);
    let o = call_s(&f, "JsonExtractObject", &[r#"{"test" : "1234"}"#, "test"]);
    assert!(matches!(o, Value::Map(ref m) if m.is_empty()));
}

#[test]
fn to_json_string() {
    let f = funcs();
    let tj = |v: Value<'static>| as_string(&call(&f, "ToJsonString", &[v]).unwrap());
    assert_eq!(tj(Value::Int(42)), "42");
    assert_eq!(
        tj(Value::List(vec![s("foo"), s("bar")])),
        r#"["foo","bar"]"#
    );
    let mut m = BTreeMap::new();
    m.insert("foo".to_owned(), s("bar"));
    m.insert("a".to_owned(), Value::Float(1e6));
    assert_eq!(tj(Value::Map(m)), r#"{"a":1000000,"foo":"bar"}"#);
    assert_eq!(tj(Value::Float(0.5)), "0.5");
    assert_eq!(tj(Value::Float(1e21)), "1e+21");
    assert_eq!(tj(Value::Float(f64::NAN)), "");
    assert_eq!(tj(s("<a&b>\n")), r#""\u003ca\u0026b\u003e\n""#);
    let j = serde_json::json!({"z": 1, "a": [true, null]});
    assert_eq!(
        as_string(&call(&f, "ToJsonString", &[Value::Obj(&j)]).unwrap()),
        r#"{"a":[true,null],"z":1}"#
    );
}

#[test]
fn unmarshal_json_helper() {
    let f = funcs();
    let v = call(
        &f,
        "UnmarshalJSON",
        &[
            s(r#"{"a": 42, "b": [1, "x"]}"#),
            Value::Map(BTreeMap::new()),
            s("k"),
        ],
    )
    .unwrap();
    assert_eq!(format!("{v:?}"), r#"{"a": 42, "b": [1, "x"]}"#);
    let Value::Map(m) = &v else { panic!("{v:?}") };
    assert!(
        matches!(m["a"], Value::Float(x) if x == 42.0),
        "Go decodes numbers as float64"
    );
    assert!(call(&f, "UnmarshalJSON", &[s("{bad"), Value::Nil, s("k")]).is_err());
    assert!(call(&f, "UnmarshalJSON", &[s("{} x"), Value::Nil, s("k")]).is_err());
    assert_eq!(unmarshal_json("[1]").unwrap(), serde_json::json!([1]));
}

fn kv(s: &str, lax: bool) -> BTreeMap<String, String> {
    parse_kv(s, lax)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn parse_kv_strict() {
    assert_eq!(kv("foo=bar", false), map(&[("foo", "bar")]));
    assert_eq!(
        kv("foo=bar bar=foo foo=foo", false),
        map(&[("foo", "foo"), ("bar", "foo")])
    );
    assert_eq!(kv(r#"foo="bar=toto""#, false), map(&[("foo", "bar=toto")]));
    assert_eq!(
        kv("foo= bar=toto", false),
        map(&[("foo", ""), ("bar", "toto")])
    );
    assert_eq!(
        kv(r#"foo="" bar=toto"#, false),
        map(&[("foo", ""), ("bar", "toto")])
    );
    assert_eq!(
        kv(r#"msg="a \"q\" b""#, false),
        map(&[("msg", r#"a \"q\" b"#)])
    );
    assert!(kv("no pairs here", false).is_empty());
    let f = funcs();
    let v = call(&f, "ParseKV", &[s("a=1 b=2"), Value::Nil, s("k")]).unwrap();
    assert_eq!(format!("{v:?}"), r#"{"a": "1", "b": "2"}"#);
    assert!(
        call(&f, "ParseKV", &[s("nothing"), Value::Nil, s("k")])
            .unwrap_err()
            .contains("invalid input format")
    );
}

#[test]
fn parse_kv_lax() {
    assert_eq!(
        kv("UNIFIhost=Express 7 port=443", true),
        map(&[("UNIFIhost", "Express 7"), ("port", "443")])
    );
    assert_eq!(
        kv(r#"msg="Hello World" host=My Server name=test"#, true),
        map(&[
            ("msg", "Hello World"),
            ("host", "My Server"),
            ("name", "test")
        ])
    );
    assert_eq!(
        kv(r#"msg="He said \"Hello\"" status=ok"#, true),
        map(&[("msg", r#"He said "Hello""#), ("status", "ok")])
    );
    assert_eq!(
        kv(r#"path="C:\\Program Files\\App" status=running"#, true),
        map(&[("path", r"C:\Program Files\App"), ("status", "running")])
    );
    assert_eq!(
        kv("host=server port=443 debug=", true),
        map(&[("host", "server"), ("port", "443"), ("debug", "")])
    );
    assert_eq!(
        kv(r#"msg="a=b c" x=1"#, true),
        map(&[("msg", "a=b c"), ("x", "1")])
    );
    assert_eq!(
        kv(r#"msg="unterminated"#, true),
        map(&[("msg", "unterminated")])
    );
    assert!(kv("", true).is_empty());
}

#[test]
fn ip_helpers() {
    let f = funcs();
    let b = |name: &str, args: &[&str]| matches!(call_s(&f, name, args), Value::Bool(true));
    assert!(b("IpInRange", &["192.168.0.1", "192.168.0.0/24"]));
    assert!(!b("IpInRange", &["192.168.1.1", "192.168.0.0/24"]));
    assert!(!b("IpInRange", &["qwerty", "192.168.0.0/24"]));
    assert!(!b("IpInRange", &["192.168.0.1", "192.168.0.0"]));
    assert!(b("IpInRange", &["::ffff:192.168.0.1", "192.168.0.0/16"]));
    assert!(b("IpInRange", &["2001:db8::1", "2001:db8::/32"]));
    assert!(!b("IpInRange", &["1.2.3.4", "2001:db8::/32"]));
    assert!(b("IsIPV4", &["1.2.3.4"]) && !b("IsIPV4", &["::1"]) && !b("IsIPV4", &["x"]));
    assert!(b("IsIPV4", &["::ffff:1.2.3.4"]));
    assert!(
        b("IsIPV6", &["::1"]) && !b("IsIPV6", &["1.2.3.4"]) && !b("IsIPV6", &["::ffff:1.2.3.4"])
    );
    assert!(b("IsIP", &["::1"]) && b("IsIP", &["1.2.3.4"]) && !b("IsIP", &["1.2.3"]));
    assert!(!b("IsIP", &["01.2.3.4"]));
    let r = |ip: &str, c: &str| as_string(&call_s(&f, "IpToRange", &[ip, c]));
    assert_eq!(r("192.168.1.1", "24"), "192.168.1.0/24");
    assert_eq!(r("192.168.1.1", "/16"), "192.168.0.0/16");
    assert_eq!(r("192.168.1.1", "33"), "");
    assert_eq!(r("192.168.1.1", "x"), "");
    assert_eq!(r("x", "24"), "");
    assert_eq!(r("2001:db8::1", "/64"), "2001:db8::/64");
    assert_eq!(r("2001:db8::1", "129"), "");
}

#[test]
fn url_helpers() {
    let f = funcs();
    let u = |name: &str, x: &str| as_string(&call_s(&f, name, &[x]));
    assert_eq!(u("PathUnescape", "%2Fa%20b+c"), "/a b+c");
    assert_eq!(u("PathUnescape", "bad%zz"), "bad%zz");
    assert_eq!(u("QueryUnescape", "a+b%3D"), "a b=");
    assert_eq!(u("QueryUnescape", "%"), "%");
    assert_eq!(u("QueryEscape", "a b/c?d=é"), "a+b%2Fc%3Fd%3D%C3%A9");
    assert_eq!(u("PathEscape", "a b/c?d=@$"), "a%20b%2Fc%3Fd=@$");
    let p = call_s(&f, "ParseUri", &["/foo?a=1&b=2&a=3"]);
    assert_eq!(format!("{p:?}"), r#"{"a": ["1", "3"], "b": ["2"]}"#);
    let p = call_s(&f, "ParseUri", &["/foo?a=1;b=2"]);
    assert_eq!(format!("{p:?}"), "{}");
    let p = call_s(&f, "ParseUri", &["/foo?a=%zz"]);
    assert_eq!(format!("{p:?}"), "{}");
    let p = call_s(&f, "ParseQuery", &["a=1;x&b=%zz&c=%41+"]);
    assert_eq!(
        format!("{p:?}"),
        r#"{"a": ["1;x"], "b": ["%zz"], "c": ["A "]}"#
    );
    let e = |uri: &str, k: &str| strs(&call_s(&f, "ExtractQueryParam", &[uri, k]));
    assert_eq!(e("/x?a=1&a=2", "a"), ["1", "2"]);
    assert_eq!(e("/x?a=1", "b"), Vec::<String>::new());
    assert_eq!(e("/x", "a"), Vec::<String>::new());
}

const EVT: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f}'/><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WIN-1</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='Image'>C:\Windows\cmd.exe</Data><Data Name='ProcessId'>42</Data><Data Name='User'>NT AUTHORITY\SYSTEM</Data></EventData></Event>"#;

#[test]
fn xml_windows_event_paths() {
    let f = funcs();
    let n = |p: &str| as_string(&call_s(&f, "XMLGetNodeValue", &[EVT, p]));
    assert_eq!(n("/Event/System[1]/EventID"), "1");
    assert_eq!(
        n("/Event/System/Channel"),
        "Microsoft-Windows-Sysmon/Operational"
    );
    assert_eq!(n("/Event/System[1]/Computer"), "WIN-1");
    assert_eq!(
        n("/Event/EventData[1]/Data[@Name='Image']"),
        r"C:\Windows\cmd.exe"
    );
    assert_eq!(n("/Event/EventData[1]/Data[@Name='ProcessId']"), "42");
    assert_eq!(n("/Event/EventData[1]/Data[2]"), "42");
    assert_eq!(n("/Event/EventData[1]/Data[3]"), r"NT AUTHORITY\SYSTEM");
    assert_eq!(n("/Event/EventData[1]/Data[-1]"), r"NT AUTHORITY\SYSTEM");
    assert_eq!(n("/Event/EventData[1]/Data[@Name='Nope']"), "");
    assert_eq!(n("//EventID"), "1");
    assert_eq!(n("/Event/System[EventID='1']/Computer"), "WIN-1");
    assert_eq!(n("/Event/EventData/Data[4]"), "");
    assert_eq!(n("/Event/[bad"), "");
    let a = |p: &str, at: &str| as_string(&call_s(&f, "XMLGetAttributeValue", &[EVT, p, at]));
    assert_eq!(
        a("/Event/System[1]/Provider", "Name"),
        "Microsoft-Windows-Sysmon"
    );
    assert_eq!(a("/Event/System[1]/Security", "UserID"), "S-1-5-18");
    assert_eq!(a("/Event/System[1]/Security", "Nope"), "");
    assert_eq!(
        as_string(&call_s(&f, "XMLGetNodeValue", &["<a><b>", "/a/b"])),
        ""
    );
}

#[test]
fn xml_ported_cases() {
    let f = funcs();
    let xml = "<root><child>foobar</child><child attr='x'>two</child></root>";
    let n = |p: &str| as_string(&call_s(&f, "XMLGetNodeValue", &[xml, p]));
    assert_eq!(n("/root/child"), "foobar");
    assert_eq!(n("/root/child[@attr='x']"), "two");
    assert_eq!(n("/root/child[@attr]"), "two");
    assert_eq!(n("/root/nope"), "");
    assert_eq!(n("root/child[2]"), "two");
    assert_eq!(
        as_string(&call_s(
            &f,
            "XMLGetAttributeValue",
            &[xml, "/root/child[2]", "attr"]
        )),
        "x"
    );
}

#[test]
fn stash_get_set() {
    let stash = std::sync::Arc::new(Stash::new());
    let f = Functions::crowdsec(HelperContext {
        data: Default::default(),
        stash: stash.clone(),
    });
    // Undeclared caches ignore writes, as in CrowdSec.
    call(&f, "SetInStash", &[s("c"), s("k"), s("v")]).unwrap();
    assert_eq!(as_string(&call_s(&f, "GetFromStash", &["c", "k"])), "");
    stash.declare("c", 2, 10);
    stash.set_now(100);
    assert!(matches!(
        call(&f, "SetInStash", &[s("c"), s("k"), s("v")]).unwrap(),
        Value::Nil
    ));
    assert_eq!(as_string(&call_s(&f, "GetFromStash", &["c", "k"])), "v");
    call(
        &f,
        "SetInStash",
        &[s("c"), s("long"), s("w"), Value::Duration(1000)],
    )
    .unwrap();
    stash.set_now(110);
    assert_eq!(
        as_string(&call_s(&f, "GetFromStash", &["c", "k"])),
        "",
        "expired"
    );
    assert_eq!(as_string(&call_s(&f, "GetFromStash", &["c", "long"])), "w");
    // Size 2: a third key evicts the oldest.
    stash.set("c", "k3", "z", None);
    stash.set("c", "k4", "z", None);
    assert_eq!(stash.get("c", "long"), None);
    assert_eq!(stash.get("c", "k4").as_deref(), Some("z"));
    assert!(call(&f, "SetInStash", &[s("c"), s("k"), s("v"), s("1m")]).is_err());
}
