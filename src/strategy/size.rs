//! The size parameter every strategy takes.
//!
//! For users tuning generation: bigger sizes give longer containers, deeper nesting, larger
//! arrays and huge ints; `edge_weight` sets how often deliberate edge values are drawn.

/// How big generated values get and how often edge values appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Maximum length of containers and strings (long strings may reach `max_len * 16`).
    pub max_len: usize,
    /// Maximum nesting depth of recursive strategies.
    pub max_depth: u32,
    /// Maximum number of 64-bit words in a huge int.
    pub max_int_words: usize,
    /// Maximum number of elements in an array.
    pub max_array_elems: usize,
    /// Maximum number of array dimensions.
    pub max_ndim: usize,
    /// Relative weight (out of 100) of deliberate edge values against ordinary ones.
    pub edge_weight: u32,
    /// Whether values that need NumPy (arrays) may be drawn where a type leaves the choice open:
    /// false for an interpreter without NumPy, where the any-value strategy draws no arrays and
    /// buffers are `bytes` and `bytearray` only. (A type that names an array still gets arrays.)
    pub numpy: bool,
    /// Most items one leaf may hold: characters of a string, bytes of a `bytes`/`bytearray`,
    /// elements of an array. [`LEAF_BUDGET`] by default; a value of many leaves gets less (see
    /// `Shape::strategy`), so that a value's total size is bounded, not only its element count.
    pub max_leaf_len: usize,
}

/// Most items a single leaf (string, bytes, array) holds at any size: 1 Mi.
pub const LEAF_BUDGET: usize = 1 << 20;

impl Default for Size {
    fn default() -> Self {
        Size {
            max_len: 8,
            max_depth: 3,
            max_int_words: 4,
            max_array_elems: 64,
            max_ndim: 3,
            edge_weight: 25,
            numpy: true,
            max_leaf_len: LEAF_BUDGET,
        }
    }
}

impl Size {
    /// Small values: quick to generate, easy to read.
    pub fn small() -> Self {
        Size {
            max_len: 4,
            max_depth: 2,
            max_int_words: 2,
            max_array_elems: 16,
            max_ndim: 2,
            edge_weight: 25,
            numpy: true,
            max_leaf_len: LEAF_BUDGET,
        }
    }

    /// Large values: long containers, deep nesting, big arrays.
    pub fn large() -> Self {
        Size {
            max_len: 32,
            max_depth: 5,
            max_int_words: 16,
            max_array_elems: 1024,
            max_ndim: 4,
            edge_weight: 25,
            numpy: true,
            max_leaf_len: LEAF_BUDGET,
        }
    }

    /// A size scaled from one number (1 = tiny, 8 = default, 32+ = large).
    pub fn scaled(n: usize) -> Self {
        let n = n.max(1);
        Size {
            max_len: n,
            max_depth: (1 + n.ilog2()).min(6),
            max_int_words: (n / 2).clamp(1, 32),
            max_array_elems: (n * n).clamp(1, 4096),
            max_ndim: (1 + n / 4).clamp(1, 5),
            edge_weight: 25,
            numpy: true,
            max_leaf_len: LEAF_BUDGET,
        }
    }

    /// The longest a leaf may be drawn: `want` (from the size) within [`Size::max_leaf_len`].
    pub(crate) fn leaf_len(&self, want: usize) -> usize {
        want.min(self.max_leaf_len)
    }

    /// The same size, drawing NumPy arrays only where a type names them (see [`Size::numpy`]).
    pub fn without_numpy(self) -> Self {
        Size {
            numpy: false,
            ..self
        }
    }

    /// Weight of ordinary values (100 - edge).
    pub(crate) fn normal_weight(&self) -> u32 {
        100u32.saturating_sub(self.edge()).max(1)
    }

    /// Weight of edge values (at least 1: edge values never disappear entirely).
    pub(crate) fn edge(&self) -> u32 {
        self.edge_weight.clamp(1, 99)
    }
}

/// A union weight that is never zero.
pub(crate) fn w(x: u32) -> u32 {
    x.max(1)
}
