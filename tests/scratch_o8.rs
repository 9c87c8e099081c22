#![cfg(feature = "origin")]
use http::Request;
use tower_gateway::origin::OriginGuardLayer;
#[test]
fn scratch() {
    let g = OriginGuardLayer::new();
    let t = OriginGuardLayer::builder()
        .trust_origin("https://partner.example")
        .build()
        .unwrap();
    for (host, origin) in [
        ("example.com", "ftp://example.com"),
        ("example.com", "ws://example.com"),
        ("example.com", "wss://example.com"),
        ("example.com", "chrome-extension://example.com"),
        ("example.com", "file://example.com"),
        ("example.com", "https://example.com:"),
        ("example.com:443", "https://example.com:"),
        ("example.com", "https://example.com?"),
        ("example.com", "https://example.com#"),
        ("example.com", "https://example.com/"),
        ("example.com", "https://example.com."),
        ("example.com", "https://EXAMPLE.COM"),
        ("EXAMPLE.COM", "https://example.com"),
        ("example.com:", "https://example.com"),
        ("example.com:", "https://example.com:"),
        ("example.com:0", "https://example.com:0"),
        ("example.com:80", "https://example.com:80"),
        ("example.com:80", "http://example.com"),
        ("example.com", "http://example.com:80"),
        ("[::1]", "http://[::1]"),
        ("[::1]:80", "http://[::1]"),
        ("127.0.0.1", "http://127.0.0.1"),
        ("127.1", "http://127.1"),
        ("0x7f.1", "http://0x7f.1"),
        ("example.com", "https://example.com:443:443"),
        ("example.com", "https:///example.com"),
        ("example.com", "https:example.com"),
        ("example.com", "https//example.com"),
        ("example.com", "//example.com"),
        ("example.com", "example.com"),
        ("example.com", " https://example.com"),
        ("example.com", "https://example.com\t"),
        ("example.com", "https://exa%6dple.com"),
        ("exa%6dple.com", "https://exa%6dple.com"),
        ("example.com", "https://xn--exmple-cua.com"),
        ("a_b.example", "https://a_b.example"),
        ("example.com", "https://user:@example.com"),
        ("example.com", "https://:@example.com"),
        ("example.com", "null "),
        ("example.com", "NULL"),
        ("example.com", "Null"),
        ("example.com", "https://example.com, https://evil.example"),
        ("example.com", "https://evil.example https://example.com"),
        ("", "https://example.com"),
    ] {
        let mut b = Request::post("/");
        if !host.is_empty() {
            b = b.header("host", host);
        }
        let r = b.header("origin", origin).body(()).unwrap();
        println!("{host:>16} {origin:45} -> {:?}", g.check_request(&r));
    }
    for origin in [
        "https://partner.example:443",
        "HTTPS://PARTNER.EXAMPLE",
        "https://partner.example.",
        "https://partner.example:",
        "ftp://partner.example",
        "https://partner.example/",
        "https://user@partner.example",
    ] {
        let r = Request::post("/")
            .header("host", "example.com")
            .header("sec-fetch-site", "cross-site")
            .header("origin", origin)
            .body(())
            .unwrap();
        println!(
            "trusted+cross-site {origin:45} -> {:?}",
            t.check_request(&r)
        );
        let r = Request::post("/")
            .header("host", "example.com")
            .header("origin", origin)
            .body(())
            .unwrap();
        println!(
            "trusted no-sfs     {origin:45} -> {:?}",
            t.check_request(&r)
        );
    }
    for (uri, origin) in [
        ("https://example.com/", "https://example.com"),
        ("https://example.com:443/", "https://example.com"),
        ("http://example.com:443/", "https://example.com"),
        ("https://example.com/", "http://example.com:443"),
        ("ws://example.com/", "http://example.com"),
        ("wss://example.com/", "https://example.com"),
        ("ftp://example.com/", "ftp://example.com"),
        ("HTTPS://EXAMPLE.COM/", "https://example.com"),
        ("https://user@example.com/", "https://example.com"),
        ("https://example.com./", "https://example.com."),
    ] {
        match Request::post(uri)
            .header("host", "other.example")
            .header("origin", origin)
            .body(())
        {
            Ok(r) => println!("abs {uri:30} {origin:30} -> {:?}", g.check_request(&r)),
            Err(e) => println!("abs {uri:30} invalid: {e}"),
        }
    }
}
