//! Where each param's value lies in the path: byte ranges, inline for the first few.

const INLINE: usize = 8;

/// The byte ranges of a match's params in the matched path, in template order. The first
/// eight live inline (no allocation); more spill to the heap. Offsets are `u32`: the router
/// refuses to match paths of 4 GiB or more.
#[derive(Clone, Debug, Default)]
pub(crate) struct Captures {
    inline: [(u32, u32); INLINE],
    len: u32,
    /// Boxed so that a `Captures`, moved with every lookup's answer, stays small (a box is
    /// one word, a `Vec` three).
    #[allow(clippy::box_collection)]
    spill: Option<Box<Vec<(u32, u32)>>>,
}

impl Captures {
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        if let Some(spill) = &mut self.spill {
            spill.clear();
        }
    }

    /// Records a param at `start..end`; the caller has checked that the path is shorter than
    /// `u32::MAX` bytes.
    #[inline]
    pub(crate) fn push(&mut self, start: usize, end: usize) {
        let range = (start as u32, end as u32);
        match self.inline.get_mut(self.len as usize) {
            Some(slot) => *slot = range,
            None => self.spill.get_or_insert_with(Box::default).push(range),
        }
        self.len += 1;
    }

    #[cfg(test)]
    pub(crate) fn pop(&mut self) {
        if self.len as usize > INLINE {
            if let Some(spill) = &mut self.spill {
                spill.pop();
            }
        }
        self.len = self.len.saturating_sub(1);
    }

    /// Drops every capture after the first `len` (a mark taken with [`Captures::len`]).
    #[inline]
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            if let Some(spill) = &mut self.spill {
                spill.truncate(len.saturating_sub(INLINE));
            }
            self.len = len as u32;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    pub(crate) fn get(&self, i: usize) -> Option<(usize, usize)> {
        let (s, e) = if i >= self.len() {
            return None;
        } else if i < INLINE {
            self.inline[i]
        } else {
            *self.spill.as_ref()?.get(i - INLINE)?
        };
        Some((s as usize, e as usize))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let inline = self.inline.get(..self.len()).unwrap_or(&self.inline);
        let spill = self.spill.as_deref().map_or(&[][..], Vec::as_slice);
        inline
            .iter()
            .chain(spill.iter().take(self.len().saturating_sub(INLINE)))
            .map(|&(s, e)| (s as usize, e as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_pops() {
        let mut c = Captures::default();
        for i in 0..20 {
            c.push(i, i + 1);
        }
        assert_eq!(c.len(), 20);
        assert_eq!(c.get(19), Some((19, 20)));
        for _ in 0..15 {
            c.pop();
        }
        assert_eq!(c.iter().collect::<Vec<_>>().len(), 5);
        assert_eq!(c.get(5), None);
        for i in 5..20 {
            c.push(i, i + 1);
        }
        c.truncate(9);
        assert_eq!(c.len(), 9);
        assert_eq!(c.get(8), Some((8, 9)));
        assert_eq!(c.get(9), None);
        c.push(30, 31);
        assert_eq!(c.get(9), Some((30, 31)));
        c.truncate(3);
        assert_eq!(c.iter().collect::<Vec<_>>(), [(0, 1), (1, 2), (2, 3)]);
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
