//! Control flow, resolved at convert time: `If` with a known condition takes its branch,
//! `Loop` with a known trip count (and known conditions) and `Scan` over a static sequence
//! length are unrolled, each iteration's body translated like any other nodes.

use super::convert::{Converter, NodeCx, Value};
use super::error::{OnnxError, Result};
use super::model::node_name;
use super::proto::{GraphProto, NodeProto};
use super::tensor::Const;
use born_core::ops::concat::{Concat, ConcatAttrs};
use born_core::ops::slice::{Slice, SliceAttrs};
use std::rc::Rc;

/// The operator types handled here.
pub(crate) const CONTROL: [&str; 3] = ["If", "Loop", "Scan"];

/// Most iterations a `Loop` or `Scan` is unrolled to.
const MAX_ITERATIONS: usize = 4096;

fn err(n: &NodeProto, k: usize, what: impl Into<String>) -> OnnxError {
    OnnxError::Node {
        node: node_name(n, k),
        op_type: n.op_type().to_string(),
        what: what.into(),
    }
}

/// Input `i` of `n` had to be known when converting.
fn not_constant(n: &NodeProto, k: usize, i: usize) -> OnnxError {
    OnnxError::NotConstant {
        node: node_name(n, k),
        op_type: n.op_type().to_string(),
        input: n.input.get(i).cloned().unwrap_or_default(),
    }
}

fn graph_attr<'n>(n: &'n NodeProto, k: usize, name: &str) -> Result<&'n GraphProto> {
    n.attribute
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| err(n, k, format!("needs the graph attribute `{name}`")))
}

fn input(conv: &Converter, n: &NodeProto, i: usize) -> Option<Value> {
    n.input
        .get(i)
        .filter(|s| !s.is_empty())
        .and_then(|s| conv.value(s))
}

/// A known boolean or integer scalar.
fn known_scalar(v: &Value) -> Option<i64> {
    match v {
        Value::Known(c) if c.numel() == 1 => c.to_i64().map(|v| v[0]),
        _ => None,
    }
}

/// Translates control-flow node `n`.
pub(crate) fn run(conv: &mut Converter, n: &NodeProto, k: usize, opset: i64) -> Result<Vec<Value>> {
    match n.op_type() {
        "If" => if_node(conv, n, k),
        "Loop" => loop_node(conv, n, k, opset),
        _ => scan_node(conv, n, k, opset),
    }
}

fn if_node(conv: &mut Converter, n: &NodeProto, k: usize) -> Result<Vec<Value>> {
    let cond = input(conv, n, 0)
        .as_ref()
        .and_then(known_scalar)
        .ok_or_else(|| not_constant(n, k, 0))?;
    let branch = graph_attr(
        n,
        k,
        if cond != 0 {
            "then_branch"
        } else {
            "else_branch"
        },
    )?;
    conv.run_subgraph(branch, vec![])
}

/// Stacks `items` (one per iteration) along a new axis `axis`.
fn stack(
    conv: &mut Converter,
    n: &NodeProto,
    k: usize,
    opset: i64,
    items: Vec<Value>,
    axis: i64,
) -> Result<Value> {
    if items.is_empty() {
        return Err(err(
            n,
            k,
            "a scan output of zero iterations is empty: born has no zero-sized tensors",
        ));
    }
    let inputs: Vec<Option<Value>> = items.into_iter().map(Some).collect();
    let mut cx = NodeCx::for_node(conv, n, k, opset, inputs);
    let mut ids = Vec::new();
    for j in 0..cx.n_inputs() {
        let mut dims = cx.dims(j)?;
        let r = dims.len() as i64 + 1;
        let a = if axis < 0 { axis + r } else { axis };
        if !(0..r).contains(&a) {
            return Err(cx.err(format!("scan output axis {axis} for rank {}", r - 1)));
        }
        dims.insert(a as usize, 1);
        let t = cx.tensor(j)?;
        ids.push((cx.reshape(t, &dims)?, a));
    }
    let a = ids[0].1 as i32;
    let mut parts: Vec<usize> = ids.into_iter().map(|(t, _)| t).collect();
    while parts.len() > born_core::ops::MAX_INPUTS {
        let rest = parts.split_off(born_core::ops::MAX_INPUTS);
        let head = cx.op::<Concat>(ConcatAttrs { axis: a }, &parts)?;
        parts = std::iter::once(head).chain(rest).collect();
    }
    Ok(Value::Tensor(
        cx.op::<Concat>(ConcatAttrs { axis: a }, &parts)?,
    ))
}

fn loop_node(conv: &mut Converter, n: &NodeProto, k: usize, opset: i64) -> Result<Vec<Value>> {
    let body = graph_attr(n, k, "body")?;
    let max = match input(conv, n, 0) {
        None => None,
        Some(v) => Some(known_scalar(&v).ok_or_else(|| not_constant(n, k, 0))?),
    };
    let mut cond = match input(conv, n, 1) {
        None => 1,
        Some(v) => known_scalar(&v).ok_or_else(|| not_constant(n, k, 1))?,
    };
    if max.is_none() && n.input.get(1).is_none_or(|s| s.is_empty()) {
        return Err(err(
            n,
            k,
            "a loop without trip count or condition never ends",
        ));
    }
    let carried_n = n.input.len().saturating_sub(2);
    let mut carried: Vec<Value> = (0..carried_n)
        .map(|j| input(conv, n, 2 + j).ok_or_else(|| err(n, k, "loop-carried inputs are required")))
        .collect::<Result<_>>()?;
    let scans = body.output.len().saturating_sub(1 + carried_n);
    let mut scanned: Vec<Vec<Value>> = vec![Vec::new(); scans];
    let mut i = 0i64;
    while cond != 0 && max.is_none_or(|m| i < m) {
        if i as usize >= MAX_ITERATIONS {
            return Err(err(
                n,
                k,
                format!("more than {MAX_ITERATIONS} iterations to unroll"),
            ));
        }
        let mut ins = vec![
            Value::Known(Rc::new(Const::from_values(vec![], &[i]))),
            Value::Known(Rc::new(Const {
                dtype: born_core::dtype::DType::Bool,
                dims: vec![],
                bytes: vec![1],
            })),
        ];
        ins.extend(carried.iter().cloned());
        let outs = conv.run_subgraph(body, ins)?;
        cond = known_scalar(&outs[0])
            .ok_or_else(|| err(n, k, "the body's condition must be known when converting"))?;
        carried = outs[1..1 + carried_n].to_vec();
        for (s, v) in scanned.iter_mut().zip(&outs[1 + carried_n..]) {
            s.push(v.clone());
        }
        i += 1;
    }
    let mut out = carried;
    for s in scanned {
        out.push(stack(conv, n, k, opset, s, 0)?);
    }
    Ok(out)
}

fn ints_attr(n: &NodeProto, name: &str) -> Vec<i64> {
    n.attribute
        .iter()
        .find(|a| a.name() == name)
        .map(|a| a.ints.clone())
        .unwrap_or_default()
}

fn scan_node(conv: &mut Converter, n: &NodeProto, k: usize, opset: i64) -> Result<Vec<Value>> {
    if opset < 9 {
        return Err(err(
            n,
            k,
            "Scan before opset 9 (with a batch axis) is not supported by born",
        ));
    }
    let body = graph_attr(n, k, "body")?;
    let m = n
        .attribute
        .iter()
        .find(|a| a.name() == "num_scan_inputs")
        .map(|a| a.i())
        .ok_or_else(|| err(n, k, "needs num_scan_inputs"))? as usize;
    let states_n = n
        .input
        .len()
        .checked_sub(m)
        .ok_or_else(|| err(n, k, "fewer inputs than num_scan_inputs"))?;
    let in_axes = ints_attr(n, "scan_input_axes");
    let in_dirs = ints_attr(n, "scan_input_directions");
    let out_axes = ints_attr(n, "scan_output_axes");
    let out_dirs = ints_attr(n, "scan_output_directions");
    let mut states: Vec<Value> = (0..states_n)
        .map(|j| input(conv, n, j).ok_or_else(|| err(n, k, "scan states are required")))
        .collect::<Result<_>>()?;
    let scans: Vec<Value> = (0..m)
        .map(|j| input(conv, n, states_n + j).ok_or_else(|| err(n, k, "scan inputs are required")))
        .collect::<Result<_>>()?;
    // The sequence length: the scanned axis of every scan input.
    let mut len = None;
    let mut axes = Vec::new();
    {
        let cx = NodeCx::for_node(conv, n, k, opset, scans.iter().cloned().map(Some).collect());
        for j in 0..m {
            let dims = cx.dims(j)?;
            let a = in_axes.get(j).copied().unwrap_or(0);
            let a = super::ops::axis(&cx, a, dims.len())?;
            match len {
                None => len = Some(dims[a]),
                Some(l) if l != dims[a] => {
                    return Err(cx.err("scan inputs differ in sequence length"))
                }
                _ => {}
            }
            axes.push(a);
        }
    }
    let len = len.ok_or_else(|| err(n, k, "needs at least one scan input"))?;
    if len > MAX_ITERATIONS {
        return Err(err(
            n,
            k,
            format!("more than {MAX_ITERATIONS} iterations to unroll"),
        ));
    }
    let outs_n = body.output.len().saturating_sub(states_n);
    let mut scanned: Vec<Vec<Value>> = vec![Vec::new(); outs_n];
    for t in 0..len {
        let mut slices = Vec::with_capacity(m);
        {
            let mut cx =
                NodeCx::for_node(conv, n, k, opset, scans.iter().cloned().map(Some).collect());
            for (j, &a) in axes.iter().enumerate() {
                let reverse = in_dirs.get(j).copied().unwrap_or(0) != 0;
                let at = if reverse { len - 1 - t } else { t } as i64;
                let s = SliceAttrs::new(&[at], &[at + 1], &[a as i64], &[])
                    .ok_or_else(|| cx.err("slice"))?;
                let x = cx.tensor(j)?;
                let piece = cx.op::<Slice>(s, &[x])?;
                let mut dims = cx.dims(j)?;
                dims.remove(a);
                slices.push(Value::Tensor(cx.reshape(piece, &dims)?));
            }
        }
        let mut ins = states.clone();
        ins.extend(slices);
        let outs = conv.run_subgraph(body, ins)?;
        states = outs[..states_n].to_vec();
        for (s, v) in scanned.iter_mut().zip(&outs[states_n..]) {
            s.push(v.clone());
        }
    }
    let mut out = states;
    for (j, mut s) in scanned.into_iter().enumerate() {
        if out_dirs.get(j).copied().unwrap_or(0) != 0 {
            s.reverse();
        }
        let axis = out_axes.get(j).copied().unwrap_or(0);
        out.push(stack(conv, n, k, opset, s, axis)?);
    }
    Ok(out)
}
