#![cfg(feature = "router")]
//! Property tests: the template parser and the matcher never panic, and the matcher agrees with
//! a naive model (a linear scan that ranks every matching route).

use std::cmp::Ordering;
use std::convert::Infallible;

use http::{Method, Request, Response};
use proptest::prelude::*;
use tower::service_fn;
use tower_gateway::router::{Decision, Router};

type R = Router<String, String, Infallible>;

fn build(keys: &[String]) -> Result<R, tower_gateway::ConfigError> {
    let ok = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    keys.iter()
        .fold(Router::builder(), |b, k| b.route(k.as_str(), ok))
        .build()
}

// ---------- the naive model ----------

/// How specific one template segment is: kind, static length, prefix length, prefix, suffix.
type Rank = (u8, usize, usize, String, String);

#[derive(Clone, Debug)]
enum Seg {
    Static(String),
    Affix(String, String),
    Param,
    CatchAll,
}

fn parse(template: &str) -> Vec<Seg> {
    template[1..]
        .split('/')
        .map(|s| {
            if s == "{*r}" {
                Seg::CatchAll
            } else if let Some(open) = s.find('{') {
                let close = s.find('}').unwrap();
                let (p, x) = (&s[..open], &s[close + 1..]);
                if p.is_empty() && x.is_empty() {
                    Seg::Param
                } else {
                    Seg::Affix(p.to_owned(), x.to_owned())
                }
            } else {
                Seg::Static(s.to_owned())
            }
        })
        .collect()
}

/// Whether `segs` match `path`; if so, the per-segment ranks used to order matches.
fn matches(segs: &[Seg], path: &str) -> Option<Vec<Rank>> {
    let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let mut ranks = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::CatchAll => {
                let rest = parts.get(i..)?.join("/");
                if i >= parts.len() || rest.is_empty() {
                    return None;
                }
                ranks.push((0, 0, 0, String::new(), String::new()));
                return Some(ranks);
            }
            _ => {
                let part = parts.get(i)?;
                let rank = match seg {
                    Seg::Static(s) if s == part => (4, 0, 0, String::new(), String::new()),
                    Seg::Affix(p, x)
                        if part.len() > p.len() + x.len()
                            && part.starts_with(p.as_str())
                            && part.ends_with(x.as_str()) =>
                    {
                        (3, p.len() + x.len(), p.len(), p.clone(), x.clone())
                    }
                    Seg::Param if !part.is_empty() => (1, 0, 0, String::new(), String::new()),
                    _ => return None,
                };
                ranks.push(rank);
            }
        }
    }
    (segs.len() == parts.len()).then_some(ranks)
}

/// Orders two rank vectors: higher is more specific.
fn more_specific(a: &[Rank], b: &[Rank]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o =
            x.0.cmp(&y.0)
                .then(x.1.cmp(&y.1))
                .then(x.2.cmp(&y.2))
                .then(y.3.cmp(&x.3))
                .then(y.4.cmp(&x.4));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The model's answer: `Some(key)` for a route, `None` with the 405 flag otherwise.
fn model(keys: &[String], method: &Method, path: &str) -> (Option<String>, bool) {
    // A `?` starts the query, which routing ignores (the generators' `.` can produce one).
    let path = path.split('?').next().unwrap_or(path);
    let mut best: Option<(Vec<_>, u8, &String)> = None;
    let mut path_matched = false;
    for key in keys {
        let (m, t) = key.split_once(' ').unwrap();
        let Some(ranks) = matches(&parse(t), path) else {
            continue;
        };
        path_matched = true;
        let priority = if m == method.as_str() {
            2
        } else if m == "GET" && method == Method::HEAD {
            1
        } else if m == "ANY" {
            0
        } else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((r, p, _)) => match more_specific(&ranks, r) {
                Ordering::Greater => true,
                Ordering::Equal => priority > *p,
                Ordering::Less => false,
            },
        };
        if better {
            best = Some((ranks, priority, key));
        }
    }
    match best {
        Some((_, _, key)) => (Some(key.clone()), false),
        None => (None, path_matched),
    }
}

// ---------- generators ----------

fn segment(i: usize, last: bool) -> BoxedStrategy<String> {
    let mut options = vec![
        Just("a".to_owned()).boxed(),
        Just("b".to_owned()).boxed(),
        Just("ab".to_owned()).boxed(),
        Just(format!("{{p{i}}}")).boxed(),
        Just(format!("a{{p{i}}}")).boxed(),
        Just(format!("ab{{p{i}}}")).boxed(),
        Just(format!("{{p{i}}}.y")).boxed(),
        Just(format!("x{{p{i}}}.y")).boxed(),
    ];
    if last {
        options.push(Just("{*r}".to_owned()).boxed());
        options.push(Just(String::new()).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn template() -> impl Strategy<Value = String> {
    (1usize..4)
        .prop_flat_map(|n| (0..n).map(|i| segment(i, i + 1 == n)).collect::<Vec<_>>())
        .prop_map(|segs| format!("/{}", segs.join("/")))
}

fn key() -> impl Strategy<Value = String> {
    (prop_oneof!["GET", "POST", "ANY", "HEAD"], template()).prop_map(|(m, t)| format!("{m} {t}"))
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof!["a", "b", "ab", "xa", "a.y", "xa.y", "xab.y", "", "ax", "z", "abc", "abz.y"],
        1..5,
    )
    .prop_map(|segs| format!("/{}", segs.join("/")))
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::HEAD),
        Just(Method::POST),
        Just(Method::PUT)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any text either builds or is refused; never a panic.
    #[test]
    fn any_key_builds_or_errors(keys in proptest::collection::vec(".{0,40}", 1..6)) {
        let _ = build(&keys);
    }

    /// Any template-ish text (braces, stars, pluses, slashes) builds or is refused.
    #[test]
    fn any_template_builds_or_errors(
        templates in proptest::collection::vec("/[a-z{}*+/.]{0,24}", 1..6)
    ) {
        let keys: Vec<String> = templates.iter().map(|t| format!("ANY {t}")).collect();
        if let Ok(r) = build(&keys) {
            prop_assert_eq!(r.route_keys().count(), keys.len());
        }
    }

    /// Any path either matches or misses; never a panic.
    #[test]
    fn any_path_matches_or_misses(path in ".{0,200}", method in method()) {
        let keys: Vec<String> = ["GET /a/{x}", "ANY /{*r}", "POST /a/b.{c}", "GET /"]
            .iter().map(|s| (*s).to_owned()).collect();
        let r = build(&keys).unwrap();
        let _ = r.at(&method, &path);
    }

    /// The tree agrees with the linear model on every generated table that builds.
    #[test]
    fn matcher_agrees_with_linear_model(
        keys in proptest::collection::vec(key(), 1..10),
        paths in proptest::collection::vec((method(), path()), 1..20),
    ) {
        let Ok(r) = build(&keys) else { return Ok(()) };
        for (m, p) in &paths {
            let (want, want_405) = model(&keys, m, p);
            let got = r.at(m, p);
            match (&got, &want) {
                (Decision::Route(hit), Some(key)) => prop_assert_eq!(hit.route().key(), key.as_str(), "{} {}", m, p),
                (Decision::MethodNotAllowed(_), None) => prop_assert!(want_405, "{} {}", m, p),
                (Decision::NotFound, None) => prop_assert!(!want_405, "{} {}", m, p),
                _ => prop_assert!(false, "{} {}: tree {:?}, model {:?}", m, p, got, want),
            }
        }
    }
}
