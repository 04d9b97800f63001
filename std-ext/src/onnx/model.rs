//! Reading an ONNX model: the protobuf, its opset imports, and the nodes in an order where
//! every input exists before it is read.

use super::error::{OnnxError, Result};
use super::proto::{GraphProto, ModelProto, NodeProto};
use prost::Message;
use std::collections::{HashMap, HashSet};

/// Decodes ONNX model bytes.
pub fn decode(bytes: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|e| OnnxError::Decode {
        what: "ModelProto",
        detail: e.to_string(),
    })
}

/// The opset version each domain is imported at (`""` and `ai.onnx` are one domain). A
/// node of a domain the model does not import is reported as unsupported, with opset -1.
pub fn opsets(m: &ModelProto) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for o in &m.opset_import {
        let domain = canonical_domain(o.domain()).to_string();
        if out.insert(domain.clone(), o.version()).is_some() {
            return Err(OnnxError::Malformed(format!(
                "domain `{domain}` is imported twice"
            )));
        }
    }
    Ok(out)
}

/// `ai.onnx` is the default domain's long name.
pub fn canonical_domain(d: &str) -> &str {
    if d == "ai.onnx" {
        ""
    } else {
        d
    }
}

/// A node's name for messages: its own, or `#k` from its position.
pub fn node_name(n: &NodeProto, k: usize) -> String {
    if n.name().is_empty() {
        format!("#{k}")
    } else {
        n.name().to_string()
    }
}

/// Node indices of `g` in an order where each node's inputs are graph inputs, initializers
/// or outputs of earlier nodes. Errors on a dangling input, a value produced twice, or a
/// cycle.
pub fn order(g: &GraphProto) -> Result<Vec<usize>> {
    order_in(g, &HashSet::new())
}

/// Every value name a node reads: its inputs, and what the nodes of its subgraphs
/// (`If`'s branches, `Loop`'s and `Scan`'s bodies, at any depth) read.
pub fn reads(n: &NodeProto) -> Vec<&str> {
    let mut out: Vec<&str> = n.input.iter().map(String::as_str).collect();
    for a in &n.attribute {
        for g in a.g.iter().chain(&a.graphs) {
            for m in &g.node {
                out.extend(reads(m));
            }
        }
    }
    out
}

/// [`order`] for a subgraph, which may also read the enclosing graphs' values `outer`.
pub fn order_in(g: &GraphProto, outer: &HashSet<&str>) -> Result<Vec<usize>> {
    let mut available: HashSet<&str> = outer.clone();
    available.insert("");
    for i in &g.input {
        available.insert(i.name());
    }
    for t in &g.initializer {
        available.insert(t.name());
    }
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (k, n) in g.node.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if available.contains(o.as_str()) || producer.insert(o, k).is_some() {
                return Err(OnnxError::Malformed(format!(
                    "value `{o}` (output of node `{}`) is defined more than once",
                    node_name(n, k)
                )));
            }
        }
    }
    for (k, n) in g.node.iter().enumerate() {
        for i in &n.input {
            if !available.contains(i.as_str()) && !producer.contains_key(i.as_str()) {
                return Err(OnnxError::Malformed(format!(
                    "input `{i}` of node `{}` is neither a graph input, an initializer \
                     nor any node's output",
                    node_name(n, k)
                )));
            }
        }
    }
    // Kahn's algorithm, taking the lowest ready index first so a sorted model keeps its
    // order.
    let mut waiting: Vec<usize> = g
        .node
        .iter()
        .map(|n| {
            reads(n)
                .into_iter()
                .filter(|i| producer.contains_key(i))
                .count()
        })
        .collect();
    let mut readers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, n) in g.node.iter().enumerate() {
        for i in reads(n) {
            if let Some(&p) = producer.get(i) {
                readers.entry(p).or_default().push(k);
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, &w)| w == 0)
        .map(|(k, _)| std::cmp::Reverse(k))
        .collect();
    let mut out = Vec::with_capacity(g.node.len());
    while let Some(std::cmp::Reverse(k)) = ready.pop() {
        out.push(k);
        for &r in readers.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
            waiting[r] -= 1;
            if waiting[r] == 0 {
                ready.push(std::cmp::Reverse(r));
            }
        }
    }
    if out.len() != g.node.len() {
        let stuck: Vec<String> = (0..g.node.len())
            .filter(|k| waiting[*k] > 0)
            .take(5)
            .map(|k| node_name(&g.node[k], k))
            .collect();
        return Err(OnnxError::Malformed(format!(
            "the graph has a cycle through nodes {}",
            stuck.join(", ")
        )));
    }
    Ok(out)
}
