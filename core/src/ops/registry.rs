//! Type-erased op entries and the `const` resolver table.

use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::model::ModelError;

/// Words of per-node params a node stores (an op's [`Op::Params`] fits in these).
pub const PARAM_WORDS: usize = 24;

/// A node's params as stored in the node table.
pub(crate) type Words = [u32; PARAM_WORDS];

type PrepareFn = fn(&[u8], &mut Prepare<'_, '_>) -> core::result::Result<Words, ModelError>;
type EvalFn = fn(&Words, &mut Io<'_>, &mut [u8]) -> Result<()>;

/// One registered op: its id, name, arity and its type-erased `prepare` and `eval`.
#[derive(Clone, Copy)]
pub struct OpReg {
    /// [`Op::ID`].
    pub id: u16,
    /// [`Op::NAME`].
    pub name: &'static str,
    /// [`Op::INPUTS`].
    pub inputs: (usize, usize),
    /// [`Op::OUTPUTS`].
    pub outputs: (usize, usize),
    /// [`Op::IN_PLACE`].
    pub in_place: bool,
    pub(crate) prepare: PrepareFn,
    pub(crate) eval: EvalFn,
}

impl core::fmt::Debug for OpReg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

fn prepare_erased<O: Op>(
    attrs: &[u8],
    cx: &mut Prepare<'_, '_>,
) -> core::result::Result<Words, ModelError> {
    let a: O::Attrs = match postcard::take_from_bytes(attrs) {
        Ok((a, [])) => a,
        _ => return Err(cx.attr_err("attribute record does not decode")),
    };
    let p = O::prepare(&a, cx)?;
    let mut w = [0u32; PARAM_WORDS];
    bytemuck::bytes_of_mut(&mut w)[..core::mem::size_of::<O::Params>()]
        .copy_from_slice(bytemuck::bytes_of(&p));
    Ok(w)
}

fn eval_erased<O: Op>(w: &Words, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
    let bytes = &bytemuck::bytes_of(w)[..core::mem::size_of::<O::Params>()];
    let p: O::Params = bytemuck::pod_read_unaligned(bytes);
    O::eval(&p, io, scratch)
}

impl OpReg {
    /// The entry of op `O`.
    pub const fn of<O: Op>() -> OpReg {
        const {
            assert!(core::mem::size_of::<O::Params>() <= 4 * PARAM_WORDS);
        }
        OpReg {
            id: O::ID,
            name: O::NAME,
            inputs: O::INPUTS,
            outputs: O::OUTPUTS,
            in_place: O::IN_PLACE,
            prepare: prepare_erased::<O>,
            eval: eval_erased::<O>,
        }
    }
}

/// A table of up to `N` ops, built in a `const` context so it can live in flash:
/// `static OPS: OpResolver<2> = OpResolver::new().with::<QFullyConnected>().with::<Quantize>();`
/// Only registered ops are linked: their rules, their kernels.
#[derive(Clone, Copy, Debug)]
pub struct OpResolver<const N: usize> {
    regs: [Option<OpReg>; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for OpResolver<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> OpResolver<N> {
    /// An empty table.
    pub const fn new() -> Self {
        OpResolver {
            regs: [None; N],
            len: 0,
            overflow: false,
        }
    }

    /// The table with op `O` added (a second registration of the same id replaces the
    /// first). Past `N` entries the table is marked overflowed and the loader and
    /// interpreter refuse it with an error.
    pub const fn with<O: Op>(mut self) -> Self {
        let reg = OpReg::of::<O>();
        let mut i = 0;
        while i < self.len {
            if let Some(r) = &self.regs[i] {
                if r.id == reg.id {
                    self.regs[i] = Some(reg);
                    return self;
                }
            }
            i += 1;
        }
        if self.len < N {
            self.regs[self.len] = Some(reg);
            self.len += 1;
        } else {
            self.overflow = true;
        }
        self
    }

    /// The registered entries.
    pub fn table(&self) -> Table<'_> {
        Table {
            regs: &self.regs[..self.len.min(N)],
            overflow: self.overflow,
        }
    }
}

/// A borrowed resolver of any capacity (what the loader and interpreter take).
#[derive(Clone, Copy, Debug)]
pub struct Table<'r> {
    regs: &'r [Option<OpReg>],
    overflow: bool,
}

impl<'r> Table<'r> {
    /// Position and entry of the op with `id`.
    pub fn find(&self, id: u16) -> Option<(usize, &'r OpReg)> {
        self.regs
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.as_ref().filter(|r| r.id == id).map(|r| (i, r)))
    }

    /// Entry number `i`.
    pub fn get(&self, i: usize) -> Option<&'r OpReg> {
        self.regs.get(i).and_then(Option::as_ref)
    }

    /// The registered entries.
    pub fn iter(&self) -> impl Iterator<Item = &'r OpReg> + 'r {
        self.regs.iter().flatten()
    }

    /// True when more ops were registered than the table holds.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}
