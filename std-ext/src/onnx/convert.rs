//! The converter: ONNX nodes, in order, to born ops on a [`Graph`] with static shapes.
//!
//! Every ONNX value is either [`Value::Known`] (its contents are known now: initializers,
//! `Constant` nodes, shapes, and anything computed from those alone) or [`Value::Tensor`]
//! (a born tensor computed at run time). A node whose inputs are all known is folded: its
//! translation is built in a scratch graph and run once by born's own interpreter, so a
//! folded value has exactly the bits the op would produce at run time and each op's meaning
//! is defined once, in born-core.

use super::attrs::Attrs;
use super::error::{OnnxError, Result, Unsupported};
use super::model::{canonical_domain, node_name, order, order_in};
use super::ops::{self, Handler};
use super::proto::{GraphProto, NodeProto};
use super::tensor::{self, Const};
use born_core::dtype::DType;
use born_core::model::graph::{Graph, QuantSpec, TensorSpec, ABSENT_INPUT};
use born_core::ops::Op;
use born_core::shape::{Shape, MAX_RANK};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;

/// How to convert.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Fixed shapes for graph inputs, by name; other inputs' dynamic dimensions are set
    /// to 1 (with a note).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Graph inputs frozen to a value, by name: they become constants of the model (what
    /// an exporter would have written as initializers), so shape-like inputs (a reshape's
    /// target, reduction axes, pads) can be folded.
    pub input_values: Vec<(String, Const)>,
    /// Model name written into the file (default: the ONNX graph's name).
    pub name: Option<String>,
}

/// A converted model.
#[derive(Debug)]
pub struct Converted {
    /// The born graph, ready for [`crate::export::encode_planned`].
    pub graph: Graph,
    /// What the converter decided on the user's behalf (dynamic dimensions bound to 1...).
    pub notes: Vec<String>,
}

/// A value of the ONNX graph during conversion.
#[derive(Clone, Debug)]
pub enum Value {
    /// Contents known at convert time.
    Known(Rc<Const>),
    /// A born tensor id.
    Tensor(usize),
    /// The int8 (or uint8) version of f32 born tensor `.0`, as a `QuantizeLinear` makes it:
    /// the parameters are recorded on that tensor, and born's quantizer builds the int8
    /// graph from them after conversion. Only `DequantizeLinear` reads it.
    Quantized(usize, DType),
}

/// Known values already placed as constants of the graph, by address.
pub(crate) type Placed = HashMap<*const Const, (Rc<Const>, usize)>;

/// What a translation sees of its node.
pub struct NodeCx<'a> {
    /// The node.
    pub node: &'a NodeProto,
    /// Its name for messages.
    pub name: String,
    /// The opset version of the node's domain.
    pub opset: i64,
    /// Its inputs (`None` for an absent optional input).
    pub inputs: Vec<Option<Value>>,
    /// Its attributes.
    pub attrs: Attrs<'a>,
    /// How many nodes (and graph outputs) read each input, in the whole ONNX graph.
    readers: Vec<usize>,
    g: &'a mut Graph,
    placed: &'a mut Placed,
}

impl NodeCx<'_> {
    /// An error about this node.
    pub fn err(&self, what: impl Into<String>) -> OnnxError {
        OnnxError::Node {
            node: self.name.clone(),
            op_type: self.node.op_type().to_string(),
            what: what.into(),
        }
    }

    /// Number of inputs listed (absent optional ones included).
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Whether this node is the only reader of input `k` (so a fusion may rewrite the op
    /// that produced it).
    pub fn sole_reader(&self, k: usize) -> bool {
        self.readers.get(k) == Some(&1)
    }

    /// Whether input `k` is present.
    pub fn has(&self, k: usize) -> bool {
        matches!(self.inputs.get(k), Some(Some(_)))
    }

    fn value(&self, k: usize) -> Result<&Value> {
        self.inputs
            .get(k)
            .and_then(Option::as_ref)
            .ok_or_else(|| self.err(format!("input {k} is required")))
    }

    /// Input `k`'s contents; an error when it is not known at convert time.
    pub fn known(&self, k: usize) -> Result<Rc<Const>> {
        match self.value(k)? {
            Value::Known(c) => Ok(c.clone()),
            Value::Tensor(_) | Value::Quantized(..) => Err(OnnxError::NotConstant {
                node: self.name.clone(),
                op_type: self.node.op_type().to_string(),
                input: self.node.input.get(k).cloned().unwrap_or_default(),
            }),
        }
    }

    /// Input `k`'s contents when known at convert time.
    pub fn try_known(&self, k: usize) -> Option<Rc<Const>> {
        match self.inputs.get(k) {
            Some(Some(Value::Known(c))) => Some(c.clone()),
            _ => None,
        }
    }

    /// Known input `k` as integers (e.g. a shape or axes list).
    pub fn known_ints(&self, k: usize) -> Result<Vec<i64>> {
        self.known(k)?
            .to_i64()
            .ok_or_else(|| self.err(format!("input {k} must hold integers")))
    }

    /// Input `k`'s element type.
    pub fn dtype(&self, k: usize) -> Result<DType> {
        Ok(match self.value(k)? {
            Value::Known(c) => c.dtype,
            Value::Tensor(id) => self.g.tensors[*id].dtype,
            Value::Quantized(_, d) => *d,
        })
    }

    /// Input `k`'s dimensions.
    pub fn dims(&self, k: usize) -> Result<Vec<usize>> {
        Ok(match self.value(k)? {
            Value::Known(c) => c.dims.clone(),
            Value::Tensor(id) | Value::Quantized(id, _) => {
                self.g.tensors[*id].shape.dims().to_vec()
            }
        })
    }

    /// Input `k` as a born tensor id (a known value becomes a constant of the graph, once);
    /// [`ABSENT_INPUT`] when absent.
    pub fn tensor(&mut self, k: usize) -> Result<usize> {
        match self.inputs.get(k) {
            None | Some(None) => Ok(ABSENT_INPUT),
            Some(Some(Value::Tensor(id))) => Ok(*id),
            Some(Some(Value::Quantized(..))) => Err(self.err(format!(
                "input {k} is a QuantizeLinear output: born reads those only through \
                 DequantizeLinear"
            ))),
            Some(Some(Value::Known(c))) => {
                let c = c.clone();
                self.constant(&c)
            }
        }
    }

    /// A born constant holding `c` (placed once per known value: the map keeps each placed
    /// value alive, so its address is never reused by another).
    pub fn constant(&mut self, c: &Rc<Const>) -> Result<usize> {
        if let Some((_, id)) = self.placed.get(&Rc::as_ptr(c)) {
            return Ok(*id);
        }
        let id = self.new_const_ref(c)?;
        self.placed.insert(Rc::as_ptr(c), (c.clone(), id));
        Ok(id)
    }

    /// A new born constant holding `c`.
    pub fn new_const(&mut self, c: Const) -> Result<usize> {
        self.new_const_ref(&c)
    }

    fn new_const_ref(&mut self, c: &Const) -> Result<usize> {
        place_const(self.g, &format!("{}.const", self.name), c)
            .map_err(|e| self.err(format!("constant does not fit born: {e}")))
    }

    /// Appends op `O` reading `inputs`; returns its output's id. A rule it breaks is an
    /// error naming this node.
    pub fn op<O: Op>(&mut self, attrs: O::Attrs, inputs: &[usize]) -> Result<usize> {
        let name = self.out_name(0);
        let id = self
            .g
            .add_op::<O>(attrs, inputs, &name)
            .map_err(|e| self.err(e.to_string()))?;
        self.bounded(id)
    }

    /// `id`, unless the tensor is too large for born's 32-bit arena offsets.
    fn bounded(&self, id: usize) -> Result<usize> {
        let t = &self.g.tensors[id];
        if tensor::bytes_of(t.shape.dims(), t.dtype.size(), tensor::MAX_TENSOR_BYTES).is_none() {
            return Err(self.err(format!(
                "a tensor of shape {:?} exceeds born's 4 GiB arena limit",
                t.shape.dims()
            )));
        }
        Ok(id)
    }

    /// [`NodeCx::op`] for an op with several outputs.
    pub fn op_multi<O: Op>(
        &mut self,
        attrs: O::Attrs,
        inputs: &[usize],
        n: usize,
    ) -> Result<Vec<usize>> {
        let names: Vec<String> = (0..n).map(|k| self.out_name(k)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let ids = self
            .g
            .add_op_multi::<O>(attrs, inputs, &refs)
            .map_err(|e| self.err(e.to_string()))?;
        ids.into_iter().map(|id| self.bounded(id)).collect()
    }

    /// Appends a reshape of tensor `x` to `dims`.
    pub fn reshape(&mut self, x: usize, dims: &[usize]) -> Result<usize> {
        let name = self.out_name(0);
        self.g
            .add_reshape(x, dims, &name)
            .map_err(|e| self.err(e.to_string()))
    }

    /// The element type and dims of born tensor `id`.
    pub fn tensor_info(&self, id: usize) -> (DType, Vec<usize>) {
        let t = &self.g.tensors[id];
        (t.dtype, t.shape.dims().to_vec())
    }

    /// Input `k` as it is (for translations that read quantized values).
    pub fn input_value(&self, k: usize) -> Result<Value> {
        self.value(k).cloned()
    }

    /// The graph being built (for fusions that rewrite the op just added).
    pub fn graph(&mut self) -> &mut Graph {
        self.g
    }

    fn out_name(&self, k: usize) -> String {
        self.node
            .output
            .get(k)
            .filter(|o| !o.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("{}:{k}", self.name))
    }
}

impl<'a> NodeCx<'a> {
    /// A context for node `n` with the given input values and no reader counts (what the
    /// control-flow translations use to add ops of their own).
    pub(crate) fn for_node(
        conv: &'a mut Converter,
        n: &'a NodeProto,
        k: usize,
        opset: i64,
        inputs: Vec<Option<Value>>,
    ) -> NodeCx<'a> {
        NodeCx {
            node: n,
            name: node_name(n, k),
            opset,
            inputs,
            attrs: Attrs::new(n, node_name(n, k)),
            readers: Vec::new(),
            g: &mut conv.graph,
            placed: &mut conv.placed,
        }
    }
}

/// Adds `c` to `g` as a constant tensor.
pub(crate) fn place_const(g: &mut Graph, name: &str, c: &Const) -> born_core::Result<usize> {
    let shape = Shape::new(&c.dims)?;
    g.tensors.push(TensorSpec {
        name: name.to_string(),
        dtype: c.dtype,
        shape,
        quant: QuantSpec::None,
        data: Some(c.bytes.clone()),
        state: false,
    });
    Ok(g.tensors.len() - 1)
}

/// Converts ONNX model bytes. `dir` is the model file's folder (for external data).
pub fn convert_bytes(bytes: &[u8], dir: Option<&Path>, opts: &Options) -> Result<Converted> {
    let m = super::model::decode(bytes)?;
    let opsets = super::model::opsets(&m)?;
    let g = m
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Malformed("the model has no graph".into()))?;
    let name = opts.name.clone().unwrap_or_else(|| g.name().to_string());
    let producer = format!(
        "born-std {} onnx ({} {})",
        env!("CARGO_PKG_VERSION"),
        m.producer_name(),
        m.producer_version()
    );
    Converter::new(&name, &producer, opsets).run(g, dir, opts)
}

/// Converts the ONNX file at `path`.
pub fn convert_file(path: &Path, opts: &Options) -> Result<Converted> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.into(),
        source,
    })?;
    convert_bytes(&bytes, path.parent(), opts)
}

pub(crate) struct Converter {
    pub(crate) graph: Graph,
    opsets: HashMap<String, i64>,
    values: HashMap<String, Value>,
    pub(crate) placed: Placed,
    readers: HashMap<String, usize>,
    notes: Vec<String>,
}

impl Converter {
    fn new(name: &str, producer: &str, opsets: HashMap<String, i64>) -> Converter {
        Converter {
            graph: Graph::new(name, producer),
            opsets,
            values: HashMap::new(),
            placed: HashMap::new(),
            readers: HashMap::new(),
            notes: Vec::new(),
        }
    }

    fn run(mut self, g: &GraphProto, dir: Option<&Path>, opts: &Options) -> Result<Converted> {
        let nodes = live_nodes(g, &order(g)?);
        self.check_supported(g, &nodes)?;
        for &k in &nodes {
            for i in &g.node[k].input {
                *self.readers.entry(i.clone()).or_default() += 1;
            }
        }
        for o in &g.output {
            *self.readers.entry(o.name().to_string()).or_default() += 1;
        }
        let inits: HashSet<&str> = g.initializer.iter().map(|t| t.name()).collect();
        for t in &g.initializer {
            let c = tensor::from_proto(t, dir)?;
            self.values
                .insert(t.name().to_string(), Value::Known(Rc::new(c)));
        }
        for name in opts
            .input_shapes
            .iter()
            .map(|(n, _)| n)
            .chain(opts.input_values.iter().map(|(n, _)| n))
        {
            if !g.input.iter().any(|i| i.name() == name) {
                return Err(OnnxError::InputShape(format!(
                    "the model has no input `{name}` (inputs: {})",
                    g.input
                        .iter()
                        .filter(|i| !inits.contains(i.name()))
                        .map(|i| i.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for i in g.input.iter().filter(|i| !inits.contains(i.name())) {
            if let Some((_, c)) = opts.input_values.iter().find(|(n, _)| n == i.name()) {
                // The value must fit the declared input like a given shape would.
                let declared = Options {
                    input_shapes: vec![(i.name().to_string(), c.dims.clone())],
                    ..Options::default()
                };
                let (dtype, _) = self.input_type(i, &declared)?;
                let bad =
                    |what: String| OnnxError::InputShape(format!("input `{}`: {what}", i.name()));
                if dtype != c.dtype {
                    return Err(bad(format!(
                        "given a {:?} value, the model declares {dtype:?}",
                        c.dtype
                    )));
                }
                if tensor::bytes_of(&c.dims, c.dtype.size(), tensor::MAX_TENSOR_BYTES)
                    != Some(c.bytes.len())
                {
                    return Err(bad(format!(
                        "the value holds {} bytes, its dimensions {:?} need another count",
                        c.bytes.len(),
                        c.dims
                    )));
                }
                self.values
                    .insert(i.name().to_string(), Value::Known(Rc::new(c.clone())));
                continue;
            }
            let (dtype, dims) = self.input_type(i, opts)?;
            let id = self.graph.add_input(i.name(), dtype, &dims)?;
            self.values.insert(i.name().to_string(), Value::Tensor(id));
        }
        for &k in &nodes {
            self.node(&g.node[k], k)?;
        }
        for o in &g.output {
            self.output(o.name())?;
        }
        self.graph.fuse_activations()?;
        let quantized = self
            .graph
            .tensors
            .iter()
            .any(|t| t.dtype == DType::F32 && matches!(t.quant, QuantSpec::PerTensor { .. }));
        if quantized {
            let (g, r) = crate::quantize::quantize_with_params(&self.graph)?;
            self.notes.push(format!(
                "int8 from the model's QuantizeLinear/DequantizeLinear parameters: {} ops in \
                 int8, {} in f32 (including the quantize/dequantize at the borders)",
                r.int8_ops, r.f32_ops
            ));
            self.graph = g;
        }
        Ok(Converted {
            graph: self.graph,
            notes: self.notes,
        })
    }

    fn check_supported(&self, g: &GraphProto, nodes: &[usize]) -> Result<()> {
        let mut missing: Vec<Unsupported> = Vec::new();
        for &k in nodes {
            let n = &g.node[k];
            let domain = canonical_domain(n.domain());
            let opset = self.opsets.get(domain).copied();
            if domain.is_empty() && super::control::CONTROL.contains(&n.op_type()) {
                for a in &n.attribute {
                    for sub in a.g.iter().chain(&a.graphs) {
                        let all: Vec<usize> = (0..sub.node.len()).collect();
                        self.check_supported(sub, &all)?;
                    }
                }
                continue;
            }
            let ok = opset.is_some_and(|v| ops::lookup(n.op_type(), domain, v).is_some());
            if ok {
                continue;
            }
            let name = node_name(n, k);
            match missing
                .iter_mut()
                .find(|u| u.op_type == n.op_type() && u.domain == domain)
            {
                Some(u) => u.nodes.push(name),
                None => missing.push(Unsupported {
                    op_type: n.op_type().to_string(),
                    domain: domain.to_string(),
                    opset: opset.unwrap_or(-1),
                    nodes: vec![name],
                }),
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(OnnxError::Unsupported(missing))
        }
    }

    fn input_type(
        &mut self,
        i: &super::proto::ValueInfoProto,
        opts: &Options,
    ) -> Result<(DType, Vec<usize>)> {
        use super::proto::tensor_shape_proto::dimension::Value as D;
        use super::proto::type_proto::Value as T;
        let bad = |what: String| OnnxError::InputShape(format!("input `{}`: {what}", i.name()));
        let tt = match i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(T::TensorType(t)) => t,
            _ => {
                return Err(bad(
                    "is not a tensor (sequences, maps and optionals are not supported)".into(),
                ))
            }
        };
        let dtype = tensor::dtype_of(tt.elem_type()).ok_or_else(|| {
            bad(format!(
                "element type {} is not supported by born",
                tensor::type_name(tt.elem_type())
            ))
        })?;
        let given = opts
            .input_shapes
            .iter()
            .find(|(n, _)| n == i.name())
            .map(|(_, d)| d.clone());
        let declared = tt.shape.as_ref().map(|s| &s.dim[..]);
        let dims = match (given, declared) {
            (Some(d), decl) => {
                if let Some(decl) = decl {
                    if decl.len() != d.len() {
                        return Err(bad(format!(
                            "given {} dimensions, the model declares {}",
                            d.len(),
                            decl.len()
                        )));
                    }
                    for (k, (dim, &v)) in decl.iter().zip(&d).enumerate() {
                        if let Some(D::DimValue(fixed)) = dim.value {
                            if fixed != v as i64 {
                                return Err(bad(format!(
                                    "dimension {k} is fixed at {fixed} by the model, given {v}"
                                )));
                            }
                        }
                    }
                }
                d
            }
            (None, None) => {
                return Err(bad(
                    "has no declared shape: give one with --input-shape".into()
                ))
            }
            (None, Some(decl)) => {
                let mut out = Vec::with_capacity(decl.len());
                for (k, dim) in decl.iter().enumerate() {
                    match dim.value {
                        Some(D::DimValue(v)) if v >= 0 => out.push(v as usize),
                        Some(D::DimValue(v)) => {
                            return Err(bad(format!("dimension {k} is negative ({v})")))
                        }
                        Some(D::DimParam(ref p)) => {
                            self.notes.push(format!(
                                "input `{}`: dynamic dimension {k} (`{p}`) set to 1",
                                i.name()
                            ));
                            out.push(1);
                        }
                        None => {
                            self.notes.push(format!(
                                "input `{}`: unnamed dynamic dimension {k} set to 1",
                                i.name()
                            ));
                            out.push(1);
                        }
                    }
                }
                out
            }
        };
        if dims.len() > MAX_RANK {
            return Err(bad(format!(
                "rank {} is above born's {MAX_RANK}",
                dims.len()
            )));
        }
        if tensor::bytes_of(&dims, dtype.size(), tensor::MAX_TENSOR_BYTES).is_none() {
            return Err(bad(format!(
                "dimensions {dims:?} exceed born's 4 GiB arena limit"
            )));
        }
        Ok((dtype, dims))
    }

    fn node(&mut self, n: &NodeProto, k: usize) -> Result<()> {
        let domain = canonical_domain(n.domain());
        let opset = self.opsets.get(domain).copied().unwrap_or(0);
        if domain.is_empty() && super::control::CONTROL.contains(&n.op_type()) {
            let outs = super::control::run(self, n, k, opset)?;
            return self.bind_outputs(n, k, outs);
        }
        let handler = ops::lookup(n.op_type(), domain, opset).ok_or_else(|| {
            OnnxError::Unsupported(vec![Unsupported {
                op_type: n.op_type().to_string(),
                domain: domain.to_string(),
                opset,
                nodes: vec![node_name(n, k)],
            }])
        })?;
        let inputs: Vec<Option<Value>> = n
            .input
            .iter()
            .map(|i| {
                if i.is_empty() {
                    None
                } else {
                    self.values.get(i).cloned()
                }
            })
            .collect();
        let before = (self.graph.ops.len(), self.graph.tensors.len());
        match self.translate(n, k, opset, handler, inputs.clone()) {
            Ok(outs) => self.bind_outputs(n, k, outs),
            Err(e) if self.has_f16(&inputs) && handler.promote_f16 => {
                // born's float kernels are f32: drop what the attempt added, compute in f32
                // and round the float results back to f16.
                self.graph.ops.truncate(before.0);
                self.graph.tensors.truncate(before.1);
                self.placed.retain(|_, (_, id)| *id < before.1);
                let promoted = self.promote(n, k, opset, inputs)?;
                match self.translate(n, k, opset, handler, promoted) {
                    Ok(outs) => {
                        let outs = self.demote(n, k, opset, outs)?;
                        self.bind_outputs(n, k, outs)
                    }
                    Err(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn has_f16(&self, inputs: &[Option<Value>]) -> bool {
        inputs.iter().flatten().any(|v| match v {
            Value::Known(c) => c.dtype == DType::F16,
            Value::Tensor(id) => self.graph.tensors[*id].dtype == DType::F16,
            Value::Quantized(..) => false,
        })
    }

    /// `inputs` with every f16 value converted to f32 (born's Cast, folded for known ones).
    fn promote(
        &mut self,
        n: &NodeProto,
        k: usize,
        opset: i64,
        inputs: Vec<Option<Value>>,
    ) -> Result<Vec<Option<Value>>> {
        self.recast(
            n,
            k,
            opset,
            inputs.into_iter().collect(),
            DType::F16,
            DType::F32,
        )
    }

    /// `outs` with every f32 value converted to f16.
    fn demote(
        &mut self,
        n: &NodeProto,
        k: usize,
        opset: i64,
        outs: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let outs = outs.into_iter().map(Some).collect();
        Ok(self
            .recast(n, k, opset, outs, DType::F32, DType::F16)?
            .into_iter()
            .flatten()
            .collect())
    }

    fn recast(
        &mut self,
        n: &NodeProto,
        k: usize,
        opset: i64,
        values: Vec<Option<Value>>,
        from: DType,
        to: DType,
    ) -> Result<Vec<Option<Value>>> {
        let cast = |v: &Const| -> Const {
            let f = v.to_f32();
            match to {
                DType::F32 => Const::from_values(v.dims.clone(), &f),
                _ => Const {
                    dtype: DType::F16,
                    dims: v.dims.clone(),
                    bytes: f
                        .iter()
                        .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                        .collect(),
                },
            }
        };
        let mut cx = NodeCx::for_node(self, n, k, opset, vec![]);
        values
            .into_iter()
            .map(|v| {
                Ok(match v {
                    Some(Value::Known(c)) if c.dtype == from => {
                        Some(Value::Known(Rc::new(cast(&c))))
                    }
                    Some(Value::Tensor(id)) if cx.tensor_info(id).0 == from => {
                        Some(Value::Tensor(cx.op::<born_core::ops::cast::Cast>(
                            born_core::ops::cast::CastAttrs { to },
                            &[id],
                        )?))
                    }
                    other => other,
                })
            })
            .collect()
    }

    /// Runs `handler` on `inputs`: folded when every input is known.
    fn translate(
        &mut self,
        n: &NodeProto,
        k: usize,
        opset: i64,
        handler: &Handler,
        inputs: Vec<Option<Value>>,
    ) -> Result<Vec<Value>> {
        let foldable = handler.foldable
            && inputs
                .iter()
                .all(|v| matches!(v, None | Some(Value::Known(_))));
        Ok(if foldable {
            fold(n, k, opset, inputs, handler)?
        } else {
            let readers = n
                .input
                .iter()
                .map(|i| self.readers.get(i).copied().unwrap_or(0))
                .collect();
            let mut cx = NodeCx {
                node: n,
                name: node_name(n, k),
                opset,
                inputs,
                attrs: Attrs::new(n, node_name(n, k)),
                readers,
                g: &mut self.graph,
                placed: &mut self.placed,
            };
            (handler.run)(&mut cx)?
        })
    }

    /// Records node `n`'s output values by name; every named output must be produced.
    fn bind_outputs(&mut self, n: &NodeProto, k: usize, outs: Vec<Value>) -> Result<()> {
        for (name, v) in n.output.iter().zip(outs) {
            if !name.is_empty() {
                self.values.insert(name.clone(), v);
            }
        }
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if !self.values.contains_key(o) {
                return Err(OnnxError::Node {
                    node: node_name(n, k),
                    op_type: n.op_type().to_string(),
                    what: format!("output `{o}` is not produced by born's translation"),
                });
            }
        }
        Ok(())
    }

    /// The value named `name` in the current scope.
    pub(crate) fn value(&self, name: &str) -> Option<Value> {
        self.values.get(name).cloned()
    }

    /// Translates subgraph `g` (a branch or loop body) with its inputs bound to `inputs`;
    /// returns its outputs' values. Its nodes may read the enclosing scopes' values; its own
    /// names are dropped afterwards.
    pub(crate) fn run_subgraph(
        &mut self,
        g: &GraphProto,
        inputs: Vec<Value>,
    ) -> Result<Vec<Value>> {
        if g.input.len() != inputs.len() {
            return Err(OnnxError::Malformed(format!(
                "subgraph `{}` has {} inputs, {} are bound",
                g.name(),
                g.input.len(),
                inputs.len()
            )));
        }
        let saved = self.values.clone();
        let result = (|| {
            for t in &g.initializer {
                self.values.insert(
                    t.name().to_string(),
                    Value::Known(Rc::new(tensor::from_proto(t, None)?)),
                );
            }
            for (i, v) in g.input.iter().zip(inputs) {
                self.values.insert(i.name().to_string(), v);
            }
            let outer: HashSet<&str> = saved.keys().map(String::as_str).collect();
            let order = order_in(g, &outer)?;
            for k in order {
                self.node(&g.node[k], k)?;
            }
            g.output
                .iter()
                .map(|o| {
                    self.values.get(o.name()).cloned().ok_or_else(|| {
                        OnnxError::Malformed(format!(
                            "subgraph output `{}` is never computed",
                            o.name()
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()
        })();
        self.values = saved;
        result
    }

    fn output(&mut self, name: &str) -> Result<()> {
        let v = self.values.get(name).cloned().ok_or_else(|| {
            OnnxError::Malformed(format!("graph output `{name}` is never computed"))
        })?;
        let g = &mut self.graph;
        let id = match v {
            Value::Tensor(id) if !g.inputs.contains(&id) && !g.outputs.contains(&id) => id,
            // A graph input, a repeated output or a constant: copy it into its own tensor.
            Value::Tensor(id) => {
                let dims = g.tensors[id].shape.dims().to_vec();
                g.add_reshape(id, &dims, name)?
            }
            Value::Known(c) => {
                let id = place_const(g, &format!("{name}.const"), &c)?;
                g.add_reshape(id, &c.dims, name)?
            }
            Value::Quantized(x, qtype) => {
                // An int8/uint8 graph output: the quantization written out in f32 ops.
                let QuantSpec::PerTensor { scale, zero_point } = g.tensors[x].quant.clone() else {
                    return Err(OnnxError::Malformed(format!(
                        "graph output `{name}` has no quantization parameters"
                    )));
                };
                let zp = i64::from(zero_point) + if qtype == DType::U8 { 128 } else { 0 };
                let node = NodeProto {
                    name: Some(name.to_string()),
                    op_type: Some("QuantizeLinear".into()),
                    output: vec![name.to_string()],
                    ..NodeProto::default()
                };
                let mut cx = NodeCx::for_node(self, &node, 0, 0, vec![]);
                super::ops::quantize_composed(&mut cx, x, &[scale], &[zp], qtype, 0)?
            }
        };
        let g = &mut self.graph;
        g.tensors[id].name = name.to_string();
        g.mark_output(id)?;
        Ok(())
    }
}

/// The nodes (in `order`) that some graph output depends on.
fn live_nodes(g: &GraphProto, order: &[usize]) -> Vec<usize> {
    let mut needed: HashSet<&str> = g.output.iter().map(|o| o.name()).collect();
    let mut live = vec![false; g.node.len()];
    for &k in order.iter().rev() {
        let n = &g.node[k];
        if n.output.iter().any(|o| needed.contains(o.as_str())) {
            live[k] = true;
            needed.extend(super::model::reads(n));
        }
    }
    order.iter().copied().filter(|&k| live[k]).collect()
}

/// Runs node `n`, whose inputs are all known, on born's interpreter; its outputs become
/// known values.
fn fold(
    n: &NodeProto,
    k: usize,
    opset: i64,
    inputs: Vec<Option<Value>>,
    handler: &Handler,
) -> Result<Vec<Value>> {
    let mut g = Graph::new("fold", "born-std onnx");
    let mut placed = HashMap::new();
    let outs = {
        let mut cx = NodeCx {
            node: n,
            name: node_name(n, k),
            opset,
            inputs,
            attrs: Attrs::new(n, node_name(n, k)),
            readers: Vec::new(),
            g: &mut g,
            placed: &mut placed,
        };
        (handler.run)(&mut cx)?
    };
    let mut computed = Vec::new();
    for v in &outs {
        if let Value::Tensor(id) = v {
            if g.tensors[*id].data.is_none() && !g.outputs.contains(id) {
                g.mark_output(*id)?;
                computed.push(*id);
            }
        }
    }
    let mut results: HashMap<usize, Const> = HashMap::new();
    if !computed.is_empty() {
        let node_err = |e: String| OnnxError::Node {
            node: node_name(n, k),
            op_type: n.op_type().to_string(),
            what: format!("computing it from its constant inputs: {e}"),
        };
        for &id in &computed {
            let t = &g.tensors[id];
            if tensor::bytes_of(t.shape.dims(), t.dtype.size(), tensor::MAX_COMPUTED_BYTES)
                .is_none()
            {
                return Err(node_err(format!(
                    "a constant of shape {:?} is larger than the converter computes (256 MiB)",
                    t.shape.dims()
                )));
            }
        }
        let (bytes, _) = crate::export::encode_planned(&g).map_err(|e| node_err(e.to_string()))?;
        let bytes = born_core::model::graph::AlignedBytes::from_slice(&bytes);
        let run = || -> born_core::Result<Vec<Vec<u8>>> {
            let model = born_core::Model::from_bytes(&bytes)?;
            let mut arena = vec![0u8; born_core::interp::Interpreter::arena_len(&model)?];
            let mut it = born_core::interp::Interpreter::new(&model, &mut arena)?;
            it.invoke()?;
            (0..computed.len())
                .map(|j| it.output_raw(j).map(<[u8]>::to_vec))
                .collect()
        };
        let outs = run().map_err(|e| node_err(e.to_string()))?;
        for (&id, bytes) in computed.iter().zip(outs) {
            let t = &g.tensors[id];
            results.insert(
                id,
                Const {
                    dtype: t.dtype,
                    dims: t.shape.dims().to_vec(),
                    bytes,
                },
            );
        }
    }
    Ok(outs
        .into_iter()
        .map(|v| match v {
            Value::Tensor(id) => {
                let c = results.get(&id).cloned().unwrap_or_else(|| {
                    let t = &g.tensors[id];
                    Const {
                        dtype: t.dtype,
                        dims: t.shape.dims().to_vec(),
                        bytes: t.data.clone().unwrap_or_default(),
                    }
                });
                Value::Known(Rc::new(c))
            }
            known => known,
        })
        .collect())
}
