//! The route tree: one node per template prefix, searched segment by segment in priority order
//! (static, then prefix/suffix params with the longest static part first, then a plain param,
//! then a catch-all), backtracking when a preferred branch dead-ends.
//!
//! Every node sits at a fixed depth, so one lookup visits each node at most once: the cost is
//! bounded by the table, never exponential, and independent of the path's length beyond the
//! deepest template.

use http::Method;

use super::captures::Captures;
use super::methods::{standard_index, AllowedMethods, MethodBits, STANDARD};
use super::template::{Segment, Template};

/// A route's position in the table.
pub(crate) type RouteId = u32;

/// One node per template prefix. `repr(C)` keeps the fields every lookup reads (the
/// first-byte bitmap and the param, catch-all and leaf links) in the first cache line.
#[derive(Debug, Default)]
#[repr(C)]
struct Node {
    /// Which first bytes occur in `static_first`.
    static_bitmap: [u64; 4],
    /// The plain `{name}` child.
    param: Option<u32>,
    /// Routes whose template ends with a catch-all right below this node.
    catch_all: Option<u32>,
    /// Routes whose template ends at this node.
    leaf: Option<u32>,
    /// Whether the node has a param, prefix/suffix param or catch-all child: the search may
    /// have to come back here after a static child dead-ends.
    dynamic: bool,
    /// Whether the only dynamic child is a plain param (no prefix/suffix param, no
    /// catch-all): when no static child matches, the param is the one way on.
    simple_param: bool,
    /// Static children, sorted by segment text.
    statics: Vec<(Box<str>, u32)>,
    /// The first byte of each static child's text (0 for an empty segment), in the same
    /// order: scanned before any string is compared.
    static_first: Vec<u8>,
    /// For nodes with many static children: where the children starting with byte `b` begin
    /// (`index[b]..index[b + 1]`), so the candidates are found without a scan.
    static_index: Option<Box<[u16; 257]>>,
    /// Prefix/suffix param children, in priority order.
    affixes: Vec<Affix>,
}

#[derive(Debug)]
struct Affix {
    prefix: Box<str>,
    suffix: Box<str>,
    node: u32,
}

/// The routes that share one template shape, by method.
#[derive(Debug, Default)]
pub(crate) struct Leaf {
    any: Option<RouteId>,
    methods: Vec<(Method, RouteId)>,
    bits: MethodBits,
    /// Whether this leaf's `GET` route is WebSocket-only, and so does not serve `HEAD`.
    get_without_head: bool,
    /// What [`Leaf::pick_by_scan`] answers for each standard method (in `STANDARD` order),
    /// so a lookup with a standard method reads one slot instead of comparing methods.
    standard: [Option<(RouteId, bool)>; STANDARD.len()],
}

impl Leaf {
    /// The route that serves `method` here (`index`: its position in `STANDARD`), as
    /// [`Leaf::pick_by_scan`] decides.
    #[inline]
    fn pick(&self, method: &Method, index: Option<usize>) -> Option<(RouteId, bool)> {
        match index {
            Some(i) => self.standard.get(i).copied().flatten(),
            None => self.pick_by_scan(method),
        }
    }

    /// Refreshes the per-standard-method answers after a route was added.
    fn refresh(&mut self) {
        self.standard = STANDARD.each_ref().map(|m| self.pick_by_scan(m));
    }

    /// The route that serves `method` here: the explicit one, else (for `HEAD`) the `GET` one
    /// unless it is WebSocket-only, else the `ANY` one. The flag says a `GET` route serves a
    /// `HEAD` request.
    fn pick_by_scan(&self, method: &Method) -> Option<(RouteId, bool)> {
        for (m, id) in &self.methods {
            if m == method {
                return Some((*id, false));
            }
        }
        if method == Method::HEAD && !self.get_without_head {
            for (m, id) in &self.methods {
                if m == Method::GET {
                    return Some((*id, true));
                }
            }
        }
        self.any.map(|id| (id, false))
    }

    fn routes(&self) -> impl Iterator<Item = (Option<&Method>, RouteId)> + '_ {
        self.any
            .map(|id| (None, id))
            .into_iter()
            .chain(self.methods.iter().map(|(m, id)| (Some(m), *id)))
    }
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// This route serves the request; `head_via_get` when a `GET` route serves a `HEAD`.
    Route { id: RouteId, head_via_get: bool },
    /// Routes match the path, but none accepts the method.
    MethodNotAllowed(AllowedMethods),
    /// No route matches the path.
    NotFound,
}

/// Why a route could not be added.
#[derive(Debug)]
pub(crate) enum InsertError {
    /// The slot is taken by this route.
    Taken(RouteId),
}

#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    leaves: Vec<Leaf>,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            nodes: vec![Node::default()],
            leaves: Vec::new(),
        }
    }
}

impl Tree {
    /// Adds a route for `method` (`None` = any) under `template`. A `GET` route serves `HEAD`
    /// too, unless `websocket` (a WebSocket-only route).
    pub(crate) fn insert(
        &mut self,
        template: &Template,
        method: Option<&Method>,
        id: RouteId,
        websocket: bool,
    ) -> Result<(), InsertError> {
        let mut node = 0u32;
        let mut leaf_slot = None;
        for segment in &template.segments {
            node = match segment {
                Segment::Static(s) => self.static_child(node, s),
                Segment::Param { prefix, suffix, .. } if prefix.is_empty() && suffix.is_empty() => {
                    self.param_child(node)
                }
                Segment::Param { prefix, suffix, .. } => self.affix_child(node, prefix, suffix),
                Segment::CatchAll { .. } => {
                    leaf_slot = Some(self.catch_all_leaf(node));
                    break;
                }
            };
        }
        let leaf = match leaf_slot {
            Some(leaf) => leaf,
            None => self.node_leaf(node),
        };
        let slot = &mut self.leaves[leaf as usize];
        match method {
            None => match slot.any {
                Some(taken) => return Err(InsertError::Taken(taken)),
                None => slot.any = Some(id),
            },
            Some(m) => {
                if let Some((_, taken)) = slot.methods.iter().find(|(have, _)| have == m) {
                    return Err(InsertError::Taken(*taken));
                }
                slot.methods.push((m.clone(), id));
            }
        }
        if websocket && method == Some(&Method::GET) {
            slot.get_without_head = true;
            slot.bits.add_without_head(&Method::GET);
        } else {
            slot.bits.add(method);
        }
        slot.refresh();
        Ok(())
    }

    fn new_node(&mut self) -> u32 {
        self.nodes.push(Node::default());
        index(self.nodes.len() - 1)
    }

    fn new_leaf(&mut self) -> u32 {
        self.leaves.push(Leaf::default());
        index(self.leaves.len() - 1)
    }

    fn static_child(&mut self, node: u32, text: &str) -> u32 {
        let statics = &self.nodes[node as usize].statics;
        match statics.binary_search_by(|(s, _)| (**s).cmp(text)) {
            Ok(i) => statics[i].1,
            Err(i) => {
                let child = self.new_node();
                let n = &mut self.nodes[node as usize];
                n.statics.insert(i, (text.into(), child));
                let first = text.as_bytes().first().copied().unwrap_or(0);
                n.static_first.insert(i, first);
                n.static_bitmap[usize::from(first >> 6)] |= 1u64 << (first & 63);
                n.static_index = build_index(&n.static_first);
                child
            }
        }
    }

    /// Recomputes the node's shortcut flags from its children.
    fn refresh_kind(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        n.dynamic = n.param.is_some() || n.catch_all.is_some() || !n.affixes.is_empty();
        n.simple_param = n.param.is_some() && n.catch_all.is_none() && n.affixes.is_empty();
    }

    fn param_child(&mut self, node: u32) -> u32 {
        if let Some(child) = self.nodes[node as usize].param {
            return child;
        }
        let child = self.new_node();
        self.nodes[node as usize].param = Some(child);
        self.refresh_kind(node);
        child
    }

    fn affix_child(&mut self, node: u32, prefix: &str, suffix: &str) -> u32 {
        let affixes = &self.nodes[node as usize].affixes;
        if let Some(a) = affixes
            .iter()
            .find(|a| &*a.prefix == prefix && &*a.suffix == suffix)
        {
            return a.node;
        }
        let child = self.new_node();
        let affixes = &mut self.nodes[node as usize].affixes;
        affixes.push(Affix {
            prefix: prefix.into(),
            suffix: suffix.into(),
            node: child,
        });
        // Longest static part first, then the longer prefix, then by text: a total order, so
        // the priority never depends on insertion order.
        affixes.sort_by(|a, b| {
            let len = |x: &Affix| x.prefix.len() + x.suffix.len();
            len(b)
                .cmp(&len(a))
                .then(b.prefix.len().cmp(&a.prefix.len()))
                .then(a.prefix.cmp(&b.prefix))
                .then(a.suffix.cmp(&b.suffix))
        });
        self.refresh_kind(node);
        child
    }

    fn catch_all_leaf(&mut self, node: u32) -> u32 {
        if let Some(leaf) = self.nodes[node as usize].catch_all {
            return leaf;
        }
        let leaf = self.new_leaf();
        self.nodes[node as usize].catch_all = Some(leaf);
        self.refresh_kind(node);
        leaf
    }

    fn node_leaf(&mut self, node: u32) -> u32 {
        if let Some(leaf) = self.nodes[node as usize].leaf {
            return leaf;
        }
        let leaf = self.new_leaf();
        self.nodes[node as usize].leaf = Some(leaf);
        leaf
    }

    /// Pairs of routes where a plain param ends the template at the same place where a sibling
    /// catch-all starts (`/f/{n}` and `/f/{*r}`) with overlapping methods: both claim every
    /// one-segment tail, so the table is refused rather than silently preferring one.
    pub(crate) fn param_catch_all_overlaps(&self) -> Vec<(RouteId, RouteId)> {
        let mut pairs = Vec::new();
        for node in &self.nodes {
            let (Some(param), Some(catch_all)) = (node.param, node.catch_all) else {
                continue;
            };
            let Some(param_leaf) = self.nodes[param as usize].leaf else {
                continue;
            };
            let a = &self.leaves[param_leaf as usize];
            let b = &self.leaves[catch_all as usize];
            for (ma, ia) in a.routes() {
                for (mb, ib) in b.routes() {
                    let overlap = match (ma, mb) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    };
                    if overlap {
                        pairs.push((ia, ib));
                    }
                }
            }
        }
        pairs
    }

    /// Finds the route for `method` and `path`, leaving its params in `captures`.
    #[inline]
    pub(crate) fn find(&self, method: &Method, path: &str, captures: &mut Captures) -> Lookup {
        captures.clear();
        if !path.starts_with('/') || path.len() >= u32::MAX as usize {
            return Lookup::NotFound;
        }
        let mut search = Search {
            path: path.as_bytes(),
            method,
            method_index: standard_index(method),
            captures,
            allowed: Allowed::default(),
            #[cfg(test)]
            general: false,
        };
        match self.walk(0, 1, &mut search) {
            Some((id, head_via_get)) => Lookup::Route { id, head_via_get },
            None if search.allowed.any => {
                Lookup::MethodNotAllowed(self.allowed_methods(&search.allowed))
            }
            None => Lookup::NotFound,
        }
    }

    /// [`Tree::find`] with the general step at every node (tests of the shortcuts).
    #[cfg(test)]
    fn find_general(&self, method: &Method, path: &str, captures: &mut Captures) -> Lookup {
        captures.clear();
        if !path.starts_with('/') {
            return Lookup::NotFound;
        }
        let mut search = Search {
            path: path.as_bytes(),
            method,
            method_index: None,
            captures,
            allowed: Allowed::default(),
            general: true,
        };
        match self.walk(0, 1, &mut search) {
            Some((id, head_via_get)) => Lookup::Route { id, head_via_get },
            None if search.allowed.any => {
                Lookup::MethodNotAllowed(self.allowed_methods(&search.allowed))
            }
            None => Lookup::NotFound,
        }
    }

    /// Searches below `node` for the rest of the path from `pos` (the start of a segment).
    ///
    /// A node whose only way on is the one being taken (a static child with no param siblings,
    /// or a plain param with no static match and no other sibling) is left by looping rather
    /// than recursing: nothing is left to backtrack to there. Every other node goes to
    /// [`Tree::branch`]. On a dead end the captures pushed below the caller are left behind;
    /// every caller that goes on truncates them to its own mark.
    fn walk(
        &self,
        mut node: u32,
        mut pos: usize,
        search: &mut Search<'_>,
    ) -> Option<(RouteId, bool)> {
        let path = search.path;
        loop {
            let n = self.nodes.get(node as usize)?;
            // A static child is matched against the path directly: its length says where the
            // segment ends, so the path is not scanned for the next `/` first.
            let found = find_static(n, path, pos);
            #[cfg(test)]
            if search.general {
                return self.branch(n, found, pos, search);
            }
            let (child, end) = match found {
                Some((child, end)) if !n.dynamic => (child, end),
                None if !n.dynamic => return None,
                None if n.simple_param => {
                    let child = n.param?;
                    let end = segment_end(path, pos);
                    if end == pos {
                        return None;
                    }
                    search.captures.push(pos, end);
                    (child, end)
                }
                _ => return self.branch(n, found, pos, search),
            };
            if end == path.len() {
                return self.check(self.nodes.get(child as usize)?.leaf?, search);
            }
            (node, pos) = (child, end + 1);
        }
    }

    /// The general step at a node with dynamic children, in priority order (the static child
    /// `found`, then prefix/suffix params, the plain param, the catch-all), backtracking.
    #[inline(never)]
    fn branch(
        &self,
        n: &Node,
        found: Option<(u32, usize)>,
        pos: usize,
        search: &mut Search<'_>,
    ) -> Option<(RouteId, bool)> {
        let path = search.path;
        let mark = search.captures.len();
        if let Some((child, end)) = found {
            if let Some(hit) = self.descend(child, end, search) {
                return Some(hit);
            }
            search.captures.truncate(mark);
        }
        let end = segment_end(path, pos);
        let segment = path.get(pos..end).unwrap_or_default();
        for affix in &n.affixes {
            let (p, x) = (affix.prefix.as_bytes(), affix.suffix.as_bytes());
            if segment.len() > p.len() + x.len()
                && eq_bytes(&segment[..p.len()], p)
                && eq_bytes(&segment[segment.len() - x.len()..], x)
            {
                search.captures.push(pos + p.len(), end - x.len());
                if let Some(hit) = self.descend(affix.node, end, search) {
                    return Some(hit);
                }
                search.captures.truncate(mark);
            }
        }
        if let Some(child) = n.param {
            if !segment.is_empty() {
                search.captures.push(pos, end);
                if let Some(hit) = self.descend(child, end, search) {
                    return Some(hit);
                }
                search.captures.truncate(mark);
            }
        }
        if let Some(leaf) = n.catch_all {
            if pos < path.len() {
                search.captures.push(pos, path.len());
                return self.check(leaf, search);
            }
        }
        None
    }

    /// Goes on below `child`, whose segment ended at `end`.
    #[inline]
    fn descend(&self, child: u32, end: usize, search: &mut Search<'_>) -> Option<(RouteId, bool)> {
        if end == search.path.len() {
            let leaf = self.nodes.get(child as usize)?.leaf?;
            self.check(leaf, search)
        } else {
            self.walk(child, end + 1, search)
        }
    }

    /// The route of `leaf` for the method, or (recording its methods for a `405`) none.
    #[inline(always)]
    fn check(&self, leaf: u32, search: &mut Search<'_>) -> Option<(RouteId, bool)> {
        let l = &self.leaves[leaf as usize];
        let hit = l.pick(search.method, search.method_index);
        if hit.is_none() {
            search.allowed.add(leaf, &l.bits);
        }
        hit
    }

    #[cold]
    #[inline(never)]
    fn allowed_methods(&self, allowed: &Allowed) -> AllowedMethods {
        let mut out = AllowedMethods::from_bits(allowed.bits.clone());
        for leaf in &allowed.extension_leaves {
            for (m, _) in &self.leaves[*leaf as usize].methods {
                out.add(m);
            }
        }
        out
    }
}

/// One lookup's inputs and what it has found so far.
struct Search<'a> {
    path: &'a [u8],
    method: &'a Method,
    /// The method's position in `STANDARD`, found once per lookup.
    method_index: Option<usize>,
    captures: &'a mut Captures,
    allowed: Allowed,
    /// Tests only: take the general step ([`Tree::branch`]) at every node, so that the
    /// loop's shortcuts can be checked against it.
    #[cfg(test)]
    general: bool,
}

/// The methods of the leaves that matched the path but not the method.
#[derive(Default)]
struct Allowed {
    any: bool,
    bits: MethodBits,
    /// Leaves with extension methods; only collected (allocating) on the 405 path.
    extension_leaves: Vec<u32>,
}

impl Allowed {
    fn add(&mut self, leaf: u32, bits: &MethodBits) {
        self.any = true;
        self.bits.union(bits);
        if bits.has_extensions() {
            self.extension_leaves.push(leaf);
        }
    }
}

/// Nodes with at least this many static children get a first-byte index.
const INDEX_FROM: usize = 4;

/// The static child whose text is the segment of `path` starting at `pos`, and where that
/// segment ends. Either the first-byte index, or (for a few children) a bitmap of their first
/// bytes and a short scan, finds the candidates, each compared in place and required to end
/// at a `/` or the end of the path.
#[inline]
fn find_static(n: &Node, path: &[u8], pos: usize) -> Option<(u32, usize)> {
    let want = match path.get(pos) {
        None | Some(b'/') => 0,
        Some(b) => *b,
    };
    let rest = path.get(pos..).unwrap_or_default();
    let fits = |text: &str| {
        let text = text.as_bytes();
        rest.len() >= text.len()
            && matches!(rest.get(text.len()), None | Some(b'/'))
            && eq_bytes(&rest[..text.len()], text)
    };
    if let Some(index) = &n.static_index {
        let w = usize::from(want);
        let (from, to) = (usize::from(index[w]), usize::from(index[w + 1]));
        for (text, node) in n.statics.get(from..to).unwrap_or_default() {
            if fits(text) {
                return Some((*node, pos + text.len()));
            }
        }
        return None;
    }
    if n.static_bitmap[usize::from(want >> 6)] & (1u64 << (want & 63)) == 0 {
        return None;
    }
    for (b, (text, node)) in n.static_first.iter().zip(&n.statics) {
        if *b == want && fits(text) {
            return Some((*node, pos + text.len()));
        }
    }
    None
}

/// The first-byte index of a sorted list of first bytes, when it is long enough to pay off
/// (and short enough for `u16` offsets).
fn build_index(first: &[u8]) -> Option<Box<[u16; 257]>> {
    if first.len() < INDEX_FROM || first.len() > usize::from(u16::MAX) {
        return None;
    }
    let mut index = Box::new([0u16; 257]);
    for b in 0..=256usize {
        // `first` is sorted, so the children starting below `b` are a prefix of it.
        let start = first.partition_point(|x| usize::from(*x) < b);
        index[b] = u16::try_from(start).unwrap_or(u16::MAX);
    }
    Some(index)
}

/// Where the segment of `path` starting at `pos` ends: the next `/`, or the end of the path.
#[inline]
fn segment_end(path: &[u8], pos: usize) -> usize {
    find_slash(path.get(pos..).unwrap_or_default()).map_or(path.len(), |i| pos + i)
}

/// The position of the first `/` in `bytes`, eight bytes at a time.
#[inline]
fn find_slash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const SLASHES: u64 = ONES * b'/' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ SLASHES;
        // A zero byte in `x` is a slash in the chunk; this marks the first one exactly.
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|b| *b == b'/')
        .map(|i| at + i)
}

/// Byte equality without a call into libc: segments are short, and `memcmp`'s call overhead
/// dominated lookups in profiles. Up to 16 bytes, two overlapping word loads per side cover
/// every byte with no loop.
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last(),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => {
            let mut a8 = a.chunks_exact(8);
            let mut b8 = b.chunks_exact(8);
            (&mut a8).zip(&mut b8).all(|(x, y)| x == y) && word8(a, n - 8) == word8(b, n - 8)
        }
    }
}

/// The four bytes of `s` at `at` as a word (`None` past the end).
#[inline(always)]
fn word4(s: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = s.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The eight bytes of `s` at `at` as a word (`None` past the end).
#[inline(always)]
fn word8(s: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = s.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// Segments drawn from a small alphabet, so that tables share prefixes and paths hit
    /// statics, params, prefix/suffix params and catch-alls, with backtracking.
    fn template_segment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b",
            "ab",
            "abcdefghijk",
            "",
            "{p}",
            "x{p}",
            "{p}.j",
            "x{p}.j",
            "{*r}",
        ])
    }

    fn path_segment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b",
            "ab",
            "abcdefghijk",
            "abcdefghijz",
            "",
            "x",
            "xa",
            "a.j",
            "xa.j",
            "x.j",
            "zz",
        ])
    }

    fn method() -> impl Strategy<Value = Option<Method>> {
        prop::sample::select(vec![
            None,
            Some(Method::GET),
            Some(Method::POST),
            Some(Method::HEAD),
            Some(Method::from_bytes(b"PURGE").unwrap()),
        ])
    }

    proptest! {
        /// The lookup loop's shortcuts (static and plain-param steps without recursion,
        /// per-method slots) answer exactly what the general step answers everywhere.
        #[test]
        fn shortcuts_agree_with_the_general_step(
            routes in prop::collection::vec(
                (method(), prop::collection::vec(template_segment(), 1..5)),
                1..12,
            ),
            paths in prop::collection::vec(prop::collection::vec(path_segment(), 0..6), 1..20),
            asked in method(),
        ) {
            let mut tree = Tree::default();
            for (id, (m, segments)) in routes.iter().enumerate() {
                let Ok(template) = Template::parse(&format!("/{}", segments.join("/"))) else {
                    continue;
                };
                let _ = tree.insert(&template, m.as_ref(), id as RouteId, false);
            }
            let asked = asked.unwrap_or(Method::DELETE);
            for segments in &paths {
                let path = format!("/{}", segments.join("/"));
                let (mut fast, mut general) = (Captures::default(), Captures::default());
                let a = tree.find(&asked, &path, &mut fast);
                let b = tree.find_general(&asked, &path, &mut general);
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", path);
                if matches!(a, Lookup::Route { .. }) {
                    prop_assert_eq!(
                        fast.iter().collect::<Vec<_>>(),
                        general.iter().collect::<Vec<_>>(),
                        "{}", path
                    );
                }
            }
        }
    }

    #[test]
    fn pick_by_slot_agrees_with_pick_by_scan() {
        let purge = Method::from_bytes(b"PURGE").unwrap();
        let pool = [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
            purge.clone(),
        ];
        // Every subset of the pool, with and without an `ANY` route.
        for mask in 0u32..(1 << (pool.len() + 1)) {
            let mut leaf = Leaf::default();
            for (i, m) in pool.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    leaf.methods.push((m.clone(), i as RouteId));
                    leaf.refresh();
                }
            }
            if mask & (1 << pool.len()) != 0 {
                leaf.any = Some(99);
                leaf.refresh();
            }
            let mut asked: Vec<Method> = STANDARD.to_vec();
            asked.push(purge.clone());
            asked.push(Method::from_bytes(b"COPY").unwrap());
            for m in &asked {
                assert_eq!(
                    leaf.pick(m, standard_index(m)),
                    leaf.pick_by_scan(m),
                    "{m} with mask {mask:b}"
                );
            }
        }
    }

    #[test]
    fn eq_bytes_matches_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..40 {
            let a = &base[..len];
            assert!(eq_bytes(a, a));
            assert!(!eq_bytes(a, &base[..len + 1]));
            for flip in 0..len {
                let mut b = a.to_vec();
                b[flip] ^= 0x20;
                assert!(!eq_bytes(a, &b), "len {len}, byte {flip}");
            }
        }
    }

    #[test]
    fn find_slash_matches_a_plain_scan() {
        let cases: [&[u8]; 9] = [
            b"",
            b"/",
            b"abc",
            b"abcdefgh/",
            b"abcdefghij/k",
            b"ab/cd",
            b"\xff\xfe/\x2f",
            b"01234567",
            b"\x2e\x2f\x30\xaf\xef\x2f\x2f\x2f\x2f",
        ];
        for bytes in cases {
            assert_eq!(
                find_slash(bytes),
                bytes.iter().position(|b| *b == b'/'),
                "{bytes:?}"
            );
        }
        for len in 0..40 {
            for slash in 0..len {
                let mut v = vec![b'a'; len];
                v[slash] = b'/';
                assert_eq!(find_slash(&v), Some(slash));
            }
        }
    }
}
