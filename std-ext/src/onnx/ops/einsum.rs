//! `Einsum` (opset 12) as born ops: diagonals by `Gather`, sums by `Reduce`, contractions
//! by batched `MatMul` between `Transpose`s and reshapes.
//!
//! The equation follows `numpy.einsum`: terms of letters, at most one `...` per term
//! (broadcast axes, aligned from the right), an explicit output after `->` or the implicit
//! one (the broadcast axes, then the letters seen exactly once, in character order). A
//! letter repeated in one term takes that operand's diagonal; a letter in no output and no
//! other operand is summed out; extent-1 axes broadcast against the same letter elsewhere.
//! Equations that only move elements (one operand, nothing summed) run in any element
//! type, exactly; sums and products run in f32 only.

use super::one;
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::kernels::reduce::ReduceOp;
use born_core::ops::gather::{Gather, GatherAttrs};
use born_core::ops::matmul::MatMul;
use born_core::ops::reduce::{Reduce, ReduceAttrs};

type Out = Result<Vec<Value>>;

/// An axis label: a letter's character code, or [`BROADCAST`] plus the index of a
/// broadcast (`...`) axis counted in the widest broadcast shape.
type Label = u32;

/// First label of the broadcast axes.
const BROADCAST: Label = 1000;

/// One symbol of a term: a letter, or `None` for `...`.
type Sym = Option<u8>;

/// The symbols of one term; an error message for anything but letters and one `...`.
fn parse_term(t: &str) -> std::result::Result<Vec<Sym>, String> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut k = 0;
    while let Some(&c) = b.get(k) {
        if c.is_ascii_alphabetic() {
            out.push(Some(c));
            k += 1;
        } else if b.get(k..k + 3) == Some(b"...") {
            if out.contains(&None) {
                return Err(format!("term `{t}` has more than one `...`"));
            }
            out.push(None);
            k += 3;
        } else {
            return Err(format!(
                "term `{t}` has `{}`: only letters and `...` label axes",
                c as char
            ));
        }
    }
    Ok(out)
}

/// The parsed equation: each operand's axis labels and the output's.
#[derive(Debug, PartialEq)]
struct Equation {
    inputs: Vec<Vec<Label>>,
    output: Vec<Label>,
}

/// Parses `eq` for operands of ranks `ranks`; an error message when the equation is
/// malformed or does not fit the ranks.
fn parse(eq: &str, ranks: &[usize]) -> std::result::Result<Equation, String> {
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) if r.contains("->") => {
            return Err(format!("`{l}->{r}` has more than one `->`"));
        }
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ranks.len() {
        return Err(format!(
            "the equation has {} input terms for {} inputs",
            terms.len(),
            ranks.len()
        ));
    }
    let parsed = terms
        .iter()
        .map(|t| parse_term(t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // Broadcast extent of each term, and the widest.
    let mut widths = Vec::with_capacity(parsed.len());
    for (k, (syms, &rank)) in parsed.iter().zip(ranks).enumerate() {
        let letters = syms.iter().filter(|s| s.is_some()).count();
        let has_dots = syms.contains(&None);
        if letters > rank || (!has_dots && letters != rank) {
            return Err(format!(
                "term {k} (`{}`) labels {letters} axes of a rank-{rank} input",
                terms[k]
            ));
        }
        widths.push(rank - letters);
    }
    let wide = widths.iter().copied().max().unwrap_or(0);
    let expand = |syms: &[Sym], width: usize| -> Vec<Label> {
        let mut out = Vec::new();
        for s in syms {
            match s {
                Some(c) => out.push(Label::from(*c)),
                None => out.extend((wide - width..wide).map(|j| BROADCAST + j as Label)),
            }
        }
        out
    };
    let inputs: Vec<Vec<Label>> = parsed
        .iter()
        .zip(&widths)
        .map(|(s, &w)| expand(s, w))
        .collect();
    let output = match rhs {
        Some(r) => {
            let syms = parse_term(r)?;
            let out = expand(&syms, wide);
            for (j, l) in out.iter().enumerate() {
                if out[..j].contains(l) {
                    return Err(format!("output label {} is repeated", label_name(*l)));
                }
                if !inputs.iter().any(|t| t.contains(l)) {
                    return Err(format!(
                        "output label {} is in no input term",
                        label_name(*l)
                    ));
                }
            }
            out
        }
        None => {
            let mut out: Vec<Label> = (0..wide).map(|j| BROADCAST + j as Label).collect();
            for c in 0..128u32 {
                let n: usize = parsed
                    .iter()
                    .flatten()
                    .filter(|s| s.map(Label::from) == Some(c))
                    .count();
                if n == 1 {
                    out.push(c);
                }
            }
            out
        }
    };
    Ok(Equation { inputs, output })
}

/// An operand during the translation: its born tensor, the label and extent of each axis.
struct Operand {
    id: usize,
    labels: Vec<Label>,
    dims: Vec<usize>,
}

fn label_name(l: Label) -> String {
    if l >= BROADCAST {
        format!("... axis {}", l - BROADCAST)
    } else {
        format!("`{}`", l as u8 as char)
    }
}

/// `x` with axes in the order `perm` (output axis `i` is axis `perm[i]`); nothing is added
/// for the identity.
fn permute(cx: &mut NodeCx<'_>, x: Operand, perm: &[usize]) -> Result<Operand> {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(x);
    }
    let id = super::permute(cx, x.id, perm)?;
    Ok(Operand {
        id,
        labels: perm.iter().map(|&p| x.labels[p]).collect(),
        dims: perm.iter().map(|&p| x.dims[p]).collect(),
    })
}

/// `x` viewed with extents `dims` (same element count), labelled `labels`.
fn view(cx: &mut NodeCx<'_>, x: Operand, labels: Vec<Label>, dims: Vec<usize>) -> Result<Operand> {
    let id = if dims == x.dims {
        x.id
    } else {
        cx.reshape(x.id, &dims)?
    };
    Ok(Operand { id, labels, dims })
}

/// Takes the diagonal of every pair of axes `x` labels alike, until its labels are
/// distinct: the pair moves last, is flattened, and a `Gather` picks every `n + 1`-th
/// element.
fn diagonals(cx: &mut NodeCx<'_>, mut x: Operand) -> Result<Operand> {
    loop {
        let pair = (0..x.labels.len()).find_map(|j| {
            let i = x.labels[..j].iter().position(|&l| l == x.labels[j])?;
            Some((i, j))
        });
        let Some((i, j)) = pair else {
            return Ok(x);
        };
        let (l, n) = (x.labels[i], x.dims[i]);
        if x.dims[j] != n {
            return Err(cx.err(format!(
                "label {} repeats in one term over extents {n} and {}",
                label_name(l),
                x.dims[j]
            )));
        }
        let mut perm: Vec<usize> = (0..x.labels.len()).filter(|&a| a != i && a != j).collect();
        perm.extend([i, j]);
        let x2 = permute(cx, x, &perm)?;
        let rest = x2.labels.len() - 2;
        let mut flat = x2.dims[..rest].to_vec();
        flat.push(n * n);
        let mut labels = x2.labels[..rest].to_vec();
        labels.push(l);
        let x3 = view(cx, x2, labels.clone(), flat)?;
        let picks: Vec<i64> = (0..n as i64).map(|k| k * (n as i64 + 1)).collect();
        let idx = cx.new_const(Const::from_values(vec![n], &picks))?;
        let id = cx.op::<Gather>(GatherAttrs { axis: rest as i32 }, &[x3.id, idx])?;
        let mut dims = x3.dims[..rest].to_vec();
        dims.push(n);
        x = Operand { id, labels, dims };
    }
}

/// Sums `x` over the axes whose label `keep` rejects.
fn sum_out(cx: &mut NodeCx<'_>, x: Operand, keep: &dyn Fn(Label) -> bool) -> Result<Operand> {
    let axes: Vec<i32> = (0..x.labels.len())
        .filter(|&a| !keep(x.labels[a]))
        .map(|a| a as i32)
        .collect();
    if axes.is_empty() {
        return Ok(x);
    }
    let attrs = ReduceAttrs::new(ReduceOp::Sum, &axes, false)
        .ok_or_else(|| cx.err("too many summed axes for born"))?;
    let id = cx.op::<Reduce>(attrs, &[x.id])?;
    let kept: Vec<usize> = (0..x.labels.len()).filter(|&a| keep(x.labels[a])).collect();
    Ok(Operand {
        id,
        labels: kept.iter().map(|&a| x.labels[a]).collect(),
        dims: kept.iter().map(|&a| x.dims[a]).collect(),
    })
}

/// The product of `a` and `b` summed over the labels they share that `needed` rejects: the
/// shared needed labels are a batch axis, `a`'s own the rows, `b`'s own the columns and the
/// summed ones the inner axis of one `MatMul`.
fn contract(
    cx: &mut NodeCx<'_>,
    a: Operand,
    b: Operand,
    needed: &dyn Fn(Label) -> bool,
) -> Result<Operand> {
    let (la, lb) = (a.labels.clone(), b.labels.clone());
    let a = sum_out(cx, a, &|l| needed(l) || lb.contains(&l))?;
    let b = sum_out(cx, b, &|l| needed(l) || la.contains(&l))?;
    let in_b = |l: &Label| b.labels.contains(l);
    let batch: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| in_b(l) && needed(*l))
        .collect();
    let inner: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| in_b(l) && !needed(*l))
        .collect();
    let rows: Vec<Label> = a.labels.iter().copied().filter(|l| !in_b(l)).collect();
    let cols: Vec<Label> = b
        .labels
        .iter()
        .copied()
        .filter(|l| !a.labels.contains(l))
        .collect();
    let pos = |x: &Operand, ls: &[Label]| -> Vec<usize> {
        ls.iter()
            .filter_map(|l| x.labels.iter().position(|m| m == l))
            .collect()
    };
    let extents = |x: &Operand, ls: &[Label]| -> Vec<usize> {
        pos(x, ls).iter().map(|&p| x.dims[p]).collect()
    };
    let size = |x: &Operand, ls: &[Label]| -> usize { extents(x, ls).iter().product() };
    let (nb, m, k, n) = (
        size(&a, &batch),
        size(&a, &rows),
        size(&a, &inner),
        size(&b, &cols),
    );
    let out_labels = [&batch[..], &rows, &cols].concat();
    let out_dims = [extents(&a, &batch), extents(&a, &rows), extents(&b, &cols)].concat();
    let lead: Vec<usize> = if batch.is_empty() { vec![] } else { vec![nb] };
    let pa = pos(&a, &[&batch[..], &rows, &inner].concat());
    let pb = pos(&b, &[&batch[..], &inner, &cols].concat());
    let a = permute(cx, a, &pa)?;
    let b = permute(cx, b, &pb)?;
    let a = view(cx, a, vec![], [&lead[..], &[m, k]].concat())?;
    let b = view(cx, b, vec![], [&lead[..], &[k, n]].concat())?;
    let id = cx.op::<MatMul>((), &[a.id, b.id])?;
    let y = Operand {
        id,
        labels: vec![],
        dims: [&lead[..], &[m, n]].concat(),
    };
    view(cx, y, out_labels, out_dims)
}

/// `Einsum`: the equation's product of the inputs, as the module describes; an error
/// naming the cause for a malformed equation, extents that do not broadcast, or sums and
/// products of inputs other than f32.
pub fn einsum(cx: &mut NodeCx<'_>) -> Out {
    let n = cx.n_inputs();
    if n == 0 || (0..n).any(|k| !cx.has(k)) {
        return Err(cx.err("needs one or more inputs, none absent"));
    }
    let eq = cx.attrs.string("equation", "")?;
    let mut ranks = Vec::with_capacity(n);
    for k in 0..n {
        ranks.push(cx.dims(k)?.len());
    }
    let e = parse(&eq, &ranks).map_err(|m| cx.err(format!("equation `{eq}`: {m}")))?;
    // Sums and products need arithmetic; moving elements alone is exact in any type.
    let arithmetic = n > 1 || e.inputs[0].iter().any(|l| !e.output.contains(l));
    let dtype = cx.dtype(0)?;
    for k in 0..n {
        let d = cx.dtype(k)?;
        if d != dtype {
            return Err(cx.err(format!("input {k} is {d:?}, input 0 {dtype:?}")));
        }
        if arithmetic && d != DType::F32 {
            return Err(cx.err(format!(
                "input {k} is {d:?}: born computes Einsum sums and products in f32 only"
            )));
        }
    }
    let mut ops = Vec::with_capacity(n);
    for (k, labels) in e.inputs.iter().enumerate() {
        let x = Operand {
            id: cx.tensor(k)?,
            labels: labels.clone(),
            dims: cx.dims(k)?,
        };
        ops.push(diagonals(cx, x)?);
    }
    // Each label's extent; extent-1 axes broadcast, so an operand drops them where the
    // label is wider elsewhere.
    let mut extent: Vec<(Label, usize)> = Vec::new();
    for x in &ops {
        for (&l, &d) in x.labels.iter().zip(&x.dims) {
            match extent.iter_mut().find(|(m, _)| *m == l) {
                None => extent.push((l, d)),
                Some((_, e)) if *e == d || d == 1 => {}
                Some((_, e)) if *e == 1 => *e = d,
                Some((_, e)) => {
                    return Err(cx.err(format!(
                        "label {} has extents {e} and {d}, which do not broadcast",
                        label_name(l)
                    )))
                }
            }
        }
    }
    let wide = |l: Label| extent.iter().any(|&(m, e)| m == l && e > 1);
    let mut narrowed = Vec::with_capacity(n);
    for x in ops {
        let keep: Vec<usize> = (0..x.labels.len())
            .filter(|&a| x.dims[a] != 1 || !wide(x.labels[a]))
            .collect();
        let labels = keep.iter().map(|&a| x.labels[a]).collect();
        let dims = keep.iter().map(|&a| x.dims[a]).collect();
        narrowed.push(view(cx, x, labels, dims)?);
    }
    let output = e.output;
    // Contract left to right; a label stays while the output or a later operand needs it.
    let mut rest = narrowed.into_iter();
    let Some(first) = rest.next() else {
        return Err(cx.err("needs one or more inputs"));
    };
    let later: Vec<Operand> = rest.collect();
    let mut later_labels: Vec<Vec<Label>> = later.iter().map(|x| x.labels.clone()).collect();
    let mut acc = {
        let others = later_labels.clone();
        sum_out(cx, first, &|l| {
            output.contains(&l) || others.iter().any(|t| t.contains(&l))
        })?
    };
    for x in later {
        later_labels.remove(0);
        let others = later_labels.clone();
        let needed = |l: Label| output.contains(&l) || others.iter().any(|t| t.contains(&l));
        acc = contract(cx, acc, x, &needed)?;
    }
    let perm: Vec<usize> = output
        .iter()
        .map(|l| {
            acc.labels
                .iter()
                .position(|m| m == l)
                .ok_or_else(|| cx.err(format!("output label {} was lost", label_name(*l))))
        })
        .collect::<Result<_>>()?;
    if perm.len() != acc.labels.len() {
        return Err(cx.err("the contraction left labels outside the output"));
    }
    let y = permute(cx, acc, &perm)?;
    one(y.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_output_is_broadcast_axes_then_single_letters_in_order() {
        let e = parse("...ba,cb", &[3, 2]).unwrap();
        assert_eq!(e.inputs[0], vec![BROADCAST, 98, 97]);
        assert_eq!(e.inputs[1], vec![99, 98]);
        assert_eq!(e.output, vec![BROADCAST, 97, 99]);
        // A letter repeated in one term is summed (a trace).
        assert_eq!(parse("ii", &[2]).unwrap().output, Vec::<Label>::new());
        // Upper case sorts before lower case, as character codes do.
        assert_eq!(parse("aB", &[2]).unwrap().output, vec![66, 97]);
    }

    #[test]
    fn broadcast_axes_align_from_the_right() {
        let e = parse("...ij,...jk->...ik", &[4, 3]).unwrap();
        assert_eq!(e.inputs[0][..2], [BROADCAST, BROADCAST + 1]);
        assert_eq!(e.inputs[1][..1], [BROADCAST + 1]);
        assert_eq!(e.output[..2], [BROADCAST, BROADCAST + 1]);
    }

    #[test]
    fn malformed_equations_are_refused() {
        for (eq, ranks) in [
            ("ij,jk", &[2usize][..]),
            ("ij", &[3]),
            ("i.j", &[2]),
            ("i1", &[2]),
            ("......", &[2]),
            ("ij->ii", &[2]),
            ("ij->k", &[2]),
            ("i->i->i", &[1]),
        ] {
            assert!(parse(eq, ranks).is_err(), "{eq}");
        }
    }
}
