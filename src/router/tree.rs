//! The route tree: one node per template prefix, searched segment by segment in priority order
//! (static, then prefix/suffix params with the longest static part first, then a plain param,
//! then a catch-all), backtracking when a preferred branch dead-ends.
//!
//! Every node sits at a fixed depth, so one lookup visits each node at most once: the cost is
//! bounded by the table, never exponential, and independent of the path's length beyond the
//! deepest template.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use http::Method;

use super::captures::Captures;
use super::methods::{AllowedMethods, MethodBits};
use super::template::{Segment, Template};

/// A route's position in the table.
pub(crate) type RouteId = u32;

#[derive(Debug, Default)]
struct Node {
    /// Static children, sorted by segment text.
    statics: Vec<(Box<str>, u32)>,
    /// Prefix/suffix param children, in priority order.
    affixes: Vec<Affix>,
    /// The plain `{name}` child.
    param: Option<u32>,
    /// Routes whose template ends with a catch-all right below this node.
    catch_all: Option<u32>,
    /// Routes whose template ends at this node.
    leaf: Option<u32>,
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
}

impl Leaf {
    /// The route that serves `method` here: the explicit one, else (for `HEAD`) the `GET` one,
    /// else the `ANY` one. The flag says a `GET` route serves a `HEAD` request.
    #[inline]
    fn pick(&self, method: &Method) -> Option<(RouteId, bool)> {
        for (m, id) in &self.methods {
            if m == method {
                return Some((*id, false));
            }
        }
        if method == Method::HEAD {
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
    /// Templates made only of static segments, by their whole text: the most specific match
    /// possible, found with one hash lookup.
    statics: HashMap<Box<str>, u32, BuildHasherDefault<FxHasher>>,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            nodes: vec![Node::default()],
            leaves: Vec::new(),
            statics: HashMap::default(),
        }
    }
}

impl Tree {
    /// Adds a route for `method` (`None` = any) under `template`, whose text is `text`.
    pub(crate) fn insert(
        &mut self,
        text: &str,
        template: &Template,
        method: Option<&Method>,
        id: RouteId,
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
        slot.bits.add(method);
        let all_static = template
            .segments
            .iter()
            .all(|s| matches!(s, Segment::Static(_)));
        if all_static {
            self.statics.insert(text.into(), leaf);
        }
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
                self.nodes[node as usize]
                    .statics
                    .insert(i, (text.into(), child));
                child
            }
        }
    }

    fn param_child(&mut self, node: u32) -> u32 {
        if let Some(child) = self.nodes[node as usize].param {
            return child;
        }
        let child = self.new_node();
        self.nodes[node as usize].param = Some(child);
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
        child
    }

    fn catch_all_leaf(&mut self, node: u32) -> u32 {
        if let Some(leaf) = self.nodes[node as usize].catch_all {
            return leaf;
        }
        let leaf = self.new_leaf();
        self.nodes[node as usize].catch_all = Some(leaf);
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
    pub(crate) fn find(&self, method: &Method, path: &str, captures: &mut Captures) -> Lookup {
        captures.clear();
        if let Some(leaf) = self.statics.get(path) {
            if let Some((id, head_via_get)) = self.leaves[*leaf as usize].pick(method) {
                return Lookup::Route { id, head_via_get };
            }
        }
        if !path.starts_with('/') {
            return Lookup::NotFound;
        }
        let mut allowed = Allowed::default();
        match self.walk(0, path, 1, method, captures, &mut allowed) {
            Some((id, head_via_get)) => Lookup::Route { id, head_via_get },
            None if allowed.any => Lookup::MethodNotAllowed(self.allowed_methods(&allowed)),
            None => Lookup::NotFound,
        }
    }

    fn walk(
        &self,
        node: u32,
        path: &str,
        pos: usize,
        method: &Method,
        captures: &mut Captures,
        allowed: &mut Allowed,
    ) -> Option<(RouteId, bool)> {
        let n = &self.nodes[node as usize];
        let rest = &path[pos..];
        let end = rest
            .bytes()
            .position(|b| b == b'/')
            .map_or(path.len(), |i| pos + i);
        let segment = &path[pos..end];

        if let Some(child) = find_static(&n.statics, segment) {
            if let Some(hit) = self.descend(child, path, end, method, captures, allowed) {
                return Some(hit);
            }
        }
        for affix in &n.affixes {
            if segment.len() > affix.prefix.len() + affix.suffix.len()
                && segment.starts_with(&*affix.prefix)
                && segment.ends_with(&*affix.suffix)
            {
                captures.push(pos + affix.prefix.len(), end - affix.suffix.len());
                if let Some(hit) = self.descend(affix.node, path, end, method, captures, allowed) {
                    return Some(hit);
                }
                captures.pop();
            }
        }
        if let Some(child) = n.param {
            if !segment.is_empty() {
                captures.push(pos, end);
                if let Some(hit) = self.descend(child, path, end, method, captures, allowed) {
                    return Some(hit);
                }
                captures.pop();
            }
        }
        if let Some(leaf) = n.catch_all {
            if pos < path.len() {
                captures.push(pos, path.len());
                if let Some(hit) = self.check(leaf, method, allowed) {
                    return Some(hit);
                }
                captures.pop();
            }
        }
        None
    }

    #[inline]
    fn descend(
        &self,
        child: u32,
        path: &str,
        end: usize,
        method: &Method,
        captures: &mut Captures,
        allowed: &mut Allowed,
    ) -> Option<(RouteId, bool)> {
        if end == path.len() {
            let leaf = self.nodes[child as usize].leaf?;
            self.check(leaf, method, allowed)
        } else {
            self.walk(child, path, end + 1, method, captures, allowed)
        }
    }

    #[inline]
    fn check(&self, leaf: u32, method: &Method, allowed: &mut Allowed) -> Option<(RouteId, bool)> {
        let l = &self.leaves[leaf as usize];
        let hit = l.pick(method);
        if hit.is_none() {
            allowed.add(leaf, &l.bits);
        }
        hit
    }

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

#[inline]
fn find_static(statics: &[(Box<str>, u32)], segment: &str) -> Option<u32> {
    if statics.len() <= 8 {
        statics
            .iter()
            .find(|(s, _)| s.len() == segment.len() && **s == *segment)
            .map(|(_, n)| *n)
    } else {
        statics
            .binary_search_by(|(s, _)| (**s).cmp(segment))
            .ok()
            .map(|i| statics[i].1)
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A small, fast, non-cryptographic hasher for the static-path map (the keys are the
/// configuration's own templates; request paths only probe it).
#[derive(Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}
