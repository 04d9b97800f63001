//! The ONNX `RNN`, `LSTM` and `GRU` translations on models built here, against a scalar f64
//! implementation of ONNX's equations written below: both directions, both layouts,
//! peepholes, initial states, clip, `input_forget`, both `linear_before_reset` values, the
//! optional activations, sequences longer than one concat takes, weights known at convert
//! time and weights fed at run time; and the nodes the importer refuses, with a message
//! naming the cause.

mod common;

use born_std::onnx::proto::tensor_proto::DataType;
use born_std::onnx::proto::{GraphProto, ModelProto, NodeProto};
use common::onnx::{
    convert, convert_run_f32, float_attr, floats_attr, int_attr, le_f32, model_proto, node,
    string_attr, strings_attr, value, FLOAT,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cell {
    Rnn,
    Lstm,
    Gru,
}

impl Cell {
    fn op(self) -> &'static str {
        match self {
            Cell::Rnn => "RNN",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    fn default_functions(self) -> Vec<F> {
        match self {
            Cell::Rnn => vec![F::Tanh],
            Cell::Lstm => vec![F::Sigmoid, F::Tanh, F::Tanh],
            Cell::Gru => vec![F::Sigmoid, F::Tanh],
        }
    }
}

/// An activation function, as ONNX's operator documentation defines it.
#[derive(Clone, Copy, Debug)]
enum F {
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f64),
    HardSigmoid(f64, f64),
    Affine(f64, f64),
    ScaledTanh(f64, f64),
    Softsign,
    Softplus,
}

impl F {
    fn eval(self, x: f64) -> f64 {
        match self {
            F::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            F::Tanh => x.tanh(),
            F::Relu => x.max(0.0),
            F::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            F::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            F::Affine(a, b) => a * x + b,
            F::ScaledTanh(a, b) => a * (b * x).tanh(),
            F::Softsign => x / (1.0 + x.abs()),
            F::Softplus => (1.0 + x.exp()).ln(),
        }
    }
}

/// `activations`, `activation_alpha`, `activation_beta` and the functions they name, per
/// direction.
#[derive(Clone)]
struct Activations {
    names: Vec<&'static str>,
    alpha: Vec<f32>,
    beta: Vec<f32>,
    funcs: Vec<Vec<F>>,
}

/// One node to build, convert, run and check.
#[derive(Clone)]
struct Case {
    cell: Cell,
    direction: &'static str,
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    layout: usize,
    bias: bool,
    initial_h: bool,
    initial_c: bool,
    peepholes: bool,
    /// `sequence_lens` as a known input, every length the sequence length.
    seq_lens: bool,
    clip: Option<f32>,
    linear_before_reset: bool,
    input_forget: bool,
    /// The `activations` attributes, when the node sets them.
    activations: Option<Activations>,
    /// W, R, B, P and the initial states as graph inputs (else initializers).
    weights_as_inputs: bool,
    /// Which of Y, Y_h, Y_c the node names.
    outputs: [bool; 3],
    /// Scale of the generated weights.
    scale: f32,
}

impl Case {
    fn new(cell: Cell, direction: &'static str) -> Case {
        Case {
            cell,
            direction,
            seq: 3,
            batch: 2,
            input: 3,
            hidden: 4,
            layout: 0,
            bias: true,
            initial_h: false,
            initial_c: false,
            peepholes: false,
            seq_lens: false,
            clip: None,
            linear_before_reset: false,
            input_forget: false,
            activations: None,
            weights_as_inputs: false,
            outputs: [true, true, cell == Cell::Lstm],
            scale: 0.5,
        }
    }

    fn dirs(&self) -> usize {
        if self.direction == "bidirectional" {
            2
        } else {
            1
        }
    }

    fn x_dims(&self) -> [usize; 3] {
        if self.layout == 0 {
            [self.seq, self.batch, self.input]
        } else {
            [self.batch, self.seq, self.input]
        }
    }

    fn state_dims(&self) -> [usize; 3] {
        if self.layout == 0 {
            [self.dirs(), self.batch, self.hidden]
        } else {
            [self.batch, self.dirs(), self.hidden]
        }
    }

    fn y_dims(&self) -> [usize; 4] {
        let (s, d, b, h) = (self.seq, self.dirs(), self.batch, self.hidden);
        if self.layout == 0 {
            [s, d, b, h]
        } else {
            [b, s, d, h]
        }
    }
}

/// Deterministic values in `[-scale, scale]`.
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

/// The node's tensors, in ONNX's layouts.
struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    r: Vec<f32>,
    b: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    p: Vec<f32>,
}

fn data(c: &Case) -> Data {
    let (d, gh, h) = (c.dirs(), c.cell.gates() * c.hidden, c.hidden);
    let states = d * c.batch * h;
    Data {
        x: values(c.seq * c.batch * c.input, 1, 1.0),
        w: values(d * gh * c.input, 2, c.scale),
        r: values(d * gh * h, 3, c.scale),
        b: values(d * 2 * gh, 4, c.scale),
        h0: values(states, 5, 1.0),
        c0: values(states, 6, 1.0),
        p: values(d * 3 * h, 7, c.scale),
    }
}

/// The one-node model of `c` (opset 14) and the graph inputs to feed, in order.
fn model(c: &Case, v: &Data) -> (ModelProto, Vec<Vec<u8>>) {
    let (d, gh, h) = (c.dirs(), c.cell.gates() * c.hidden, c.hidden);
    let mut inputs = vec![value("X", FLOAT, &c.x_dims())];
    let mut feeds = vec![le_f32(&v.x)];
    let mut inits = Vec::new();
    let mut names = vec!["X".to_string()];
    let mut tensor = |name: &str, dims: &[usize], vals: &[f32]| {
        if c.weights_as_inputs {
            inputs.push(value(name, FLOAT, dims));
            feeds.push(le_f32(vals));
        } else {
            inits.push(common::onnx::tensor(name, dims, FLOAT, le_f32(vals)));
        }
    };
    tensor("W", &[d, gh, c.input], &v.w);
    tensor("R", &[d, gh, h], &v.r);
    names.push("W".into());
    names.push("R".into());
    let mut opt = |on: bool, name: &str| names.push(if on { name.into() } else { String::new() });
    opt(c.bias, "B");
    opt(c.seq_lens, "sequence_lens");
    opt(c.initial_h, "initial_h");
    opt(c.initial_c, "initial_c");
    opt(c.peepholes, "P");
    if c.bias {
        tensor("B", &[d, 2 * gh], &v.b);
    }
    if c.initial_h {
        tensor("initial_h", &c.state_dims(), &v.h0);
    }
    if c.initial_c {
        tensor("initial_c", &c.state_dims(), &v.c0);
    }
    if c.peepholes {
        tensor("P", &[d, 3 * h], &v.p);
    }
    if c.seq_lens {
        let lens: Vec<u8> = (0..c.batch)
            .flat_map(|_| (c.seq as i32).to_le_bytes())
            .collect();
        inits.push(common::onnx::tensor(
            "sequence_lens",
            &[c.batch],
            DataType::Int32 as i32,
            lens,
        ));
    }
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    let out_names = ["Y", "Y_h", "Y_c"];
    let mut outs: Vec<String> = (0..3)
        .map(|k| {
            if c.outputs[k] {
                out_names[k].to_string()
            } else {
                String::new()
            }
        })
        .collect();
    while outs.last().is_some_and(String::is_empty) {
        outs.pop();
    }
    let mut graph_outputs = Vec::new();
    if c.outputs[0] {
        graph_outputs.push(value("Y", FLOAT, &c.y_dims()));
    }
    for (name, _) in out_names
        .iter()
        .zip(c.outputs)
        .skip(1)
        .filter(|(_, on)| *on)
    {
        graph_outputs.push(value(name, FLOAT, &c.state_dims()));
    }
    let mut attrs = vec![
        string_attr("direction", c.direction),
        int_attr("hidden_size", h as i64),
        int_attr("layout", c.layout as i64),
    ];
    if let Some(clip) = c.clip {
        attrs.push(float_attr("clip", clip));
    }
    if c.cell == Cell::Gru {
        attrs.push(int_attr(
            "linear_before_reset",
            i64::from(c.linear_before_reset),
        ));
    }
    if c.cell == Cell::Lstm {
        attrs.push(int_attr("input_forget", i64::from(c.input_forget)));
    }
    if let Some(a) = &c.activations {
        attrs.push(strings_attr("activations", &a.names));
        if !a.alpha.is_empty() {
            attrs.push(floats_attr("activation_alpha", &a.alpha));
        }
        if !a.beta.is_empty() {
            attrs.push(floats_attr("activation_beta", &a.beta));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
    let n = node(c.cell.op(), "rec", &names, &outs, attrs);
    let m = model_proto(Some("onnx_rnn"), 14, vec![n], inputs, graph_outputs, inits);
    (m, feeds)
}

/// ONNX's equations in f64, element by element: `Y`, `Y_h`, `Y_c` in the case's layout.
fn reference(c: &Case, v: &Data) -> [Vec<f64>; 3] {
    let (dirs, hd, ni, nb, ns) = (c.dirs(), c.hidden, c.input, c.batch, c.seq);
    let gh = c.cell.gates() * hd;
    let f64s = |x: &[f32]| x.iter().map(|&a| f64::from(a)).collect::<Vec<f64>>();
    let (w, r, p) = (f64s(&v.w), f64s(&v.r), f64s(&v.p));
    let b = if c.bias {
        f64s(&v.b)
    } else {
        vec![0.0; dirs * 2 * gh]
    };
    let x_at = |t: usize, bi: usize, i: usize| {
        let k = if c.layout == 0 {
            (t * nb + bi) * ni + i
        } else {
            (bi * ns + t) * ni + i
        };
        f64::from(v.x[k])
    };
    let state_at = |src: &[f32], on: bool, d: usize, bi: usize, j: usize| {
        if !on {
            return 0.0;
        }
        let k = if c.layout == 0 {
            (d * nb + bi) * hd + j
        } else {
            (bi * dirs + d) * hd + j
        };
        f64::from(src[k])
    };
    let clip = c.clip.map(f64::from);
    let act = |f: F, x: f64| f.eval(clip.map_or(x, |l| x.clamp(-l, l)));
    let funcs: Vec<Vec<F>> = match &c.activations {
        Some(a) => a.funcs.clone(),
        None => vec![c.cell.default_functions(); dirs],
    };
    let y_index = |t: usize, d: usize, bi: usize, j: usize| {
        if c.layout == 0 {
            ((t * dirs + d) * nb + bi) * hd + j
        } else {
            ((bi * ns + t) * dirs + d) * hd + j
        }
    };
    let s_index = |d: usize, bi: usize, j: usize| {
        if c.layout == 0 {
            (d * nb + bi) * hd + j
        } else {
            (bi * dirs + d) * hd + j
        }
    };
    let mut y = vec![0.0; ns * dirs * nb * hd];
    let mut yh = vec![0.0; dirs * nb * hd];
    let mut yc = vec![0.0; dirs * nb * hd];
    for d in 0..dirs {
        let reverse = c.direction == "reverse" || d == 1;
        let f = &funcs[d];
        let wd = |row: usize, i: usize| w[(d * gh + row) * ni + i];
        let rd = |row: usize, m: usize| r[(d * gh + row) * hd + m];
        let wb = |row: usize| b[d * 2 * gh + row];
        let rb = |row: usize| b[d * 2 * gh + gh + row];
        let pd = |k: usize, j: usize| {
            if c.peepholes {
                p[d * 3 * hd + k * hd + j]
            } else {
                0.0
            }
        };
        for bi in 0..nb {
            let mut h: Vec<f64> = (0..hd)
                .map(|j| state_at(&v.h0, c.initial_h, d, bi, j))
                .collect();
            let mut cs: Vec<f64> = (0..hd)
                .map(|j| state_at(&v.c0, c.initial_c, d, bi, j))
                .collect();
            for step in 0..ns {
                let t = if reverse { ns - 1 - step } else { step };
                let xw = |row: usize| (0..ni).map(|i| x_at(t, bi, i) * wd(row, i)).sum::<f64>();
                let hr = |row: usize, hv: &[f64]| (0..hd).map(|m| hv[m] * rd(row, m)).sum::<f64>();
                let pre = |row: usize| xw(row) + hr(row, &h) + wb(row) + rb(row);
                let next: Vec<f64> = match c.cell {
                    Cell::Rnn => (0..hd).map(|j| act(f[0], pre(j))).collect(),
                    Cell::Lstm => {
                        let mut hn = vec![0.0; hd];
                        let mut cn = vec![0.0; hd];
                        for j in 0..hd {
                            let i = act(f[0], pre(j) + pd(0, j) * cs[j]);
                            let fg = if c.input_forget {
                                1.0 - i
                            } else {
                                act(f[0], pre(2 * hd + j) + pd(2, j) * cs[j])
                            };
                            let cand = act(f[1], pre(3 * hd + j));
                            cn[j] = fg * cs[j] + i * cand;
                            let o = act(f[0], pre(hd + j) + pd(1, j) * cn[j]);
                            hn[j] = o * act(f[2], cn[j]);
                        }
                        cs = cn;
                        hn
                    }
                    Cell::Gru => {
                        let z: Vec<f64> = (0..hd).map(|j| act(f[0], pre(j))).collect();
                        let rr: Vec<f64> = (0..hd).map(|j| act(f[0], pre(hd + j))).collect();
                        let rh: Vec<f64> = (0..hd).map(|m| rr[m] * h[m]).collect();
                        (0..hd)
                            .map(|j| {
                                let row = 2 * hd + j;
                                let n = if c.linear_before_reset {
                                    act(f[1], xw(row) + wb(row) + rr[j] * (hr(row, &h) + rb(row)))
                                } else {
                                    act(f[1], xw(row) + hr(row, &rh) + wb(row) + rb(row))
                                };
                                (1.0 - z[j]) * n + z[j] * h[j]
                            })
                            .collect()
                    }
                };
                h = next;
                for j in 0..hd {
                    y[y_index(t, d, bi, j)] = h[j];
                }
            }
            for j in 0..hd {
                yh[s_index(d, bi, j)] = h[j];
                yc[s_index(d, bi, j)] = cs[j];
            }
        }
    }
    [y, yh, yc]
}

/// Builds, converts and runs `c` (weights known, then fed at run time) and checks every
/// requested output against [`reference`] within `1e-5`.
fn check(c: &Case) {
    let v = data(c);
    let want = reference(c, &v);
    let dims = [
        c.y_dims().to_vec(),
        c.state_dims().to_vec(),
        c.state_dims().to_vec(),
    ];
    for as_inputs in [false, true] {
        let case = Case {
            weights_as_inputs: as_inputs,
            ..c.clone()
        };
        let (m, feeds) = model(&case, &v);
        let got = convert_run_f32(&m, &feeds).expect("convert");
        let wanted: Vec<usize> = (0..3).filter(|&k| c.outputs[k]).collect();
        assert_eq!(got.len(), wanted.len());
        for ((gd, gv), &k) in got.iter().zip(&wanted) {
            assert_eq!(gd, &dims[k], "output {k} extents");
            assert_eq!(gv.len(), want[k].len());
            for (i, (&a, &b)) in gv.iter().zip(&want[k]).enumerate() {
                assert!(
                    (f64::from(a) - b).abs() <= 1e-5,
                    "{:?} output {k} element {i}: {a} vs {b} (weights as inputs: {as_inputs})",
                    c.cell
                );
            }
        }
    }
}

#[test]
fn lstm_bidirectional_with_peepholes_and_initial_states() {
    let c = Case {
        seq: 4,
        batch: 2,
        input: 3,
        hidden: 5,
        initial_h: true,
        initial_c: true,
        peepholes: true,
        seq_lens: true,
        ..Case::new(Cell::Lstm, "bidirectional")
    };
    check(&c);
}

#[test]
fn lstm_batch_first_reverse_clip_input_forget_cell_state_only() {
    let c = Case {
        layout: 1,
        initial_h: true,
        initial_c: true,
        peepholes: true,
        clip: Some(0.4),
        input_forget: true,
        outputs: [false, false, true],
        scale: 1.0,
        ..Case::new(Cell::Lstm, "reverse")
    };
    check(&c);
}

#[test]
fn gru_bidirectional_linear_before_reset_0() {
    let c = Case {
        seq: 3,
        batch: 2,
        input: 4,
        hidden: 3,
        initial_h: true,
        ..Case::new(Cell::Gru, "bidirectional")
    };
    check(&c);
}

#[test]
fn gru_batch_first_reverse_linear_before_reset_1() {
    let c = Case {
        layout: 1,
        initial_h: true,
        linear_before_reset: true,
        outputs: [false, true, false],
        ..Case::new(Cell::Gru, "reverse")
    };
    check(&c);
    let c = Case {
        bias: false,
        linear_before_reset: true,
        ..Case::new(Cell::Gru, "bidirectional")
    };
    check(&c);
}

#[test]
fn rnn_relu_with_clip_and_a_long_sequence() {
    // 30 steps: more than one concat's inputs.
    let c = Case {
        seq: 30,
        batch: 1,
        input: 2,
        hidden: 3,
        clip: Some(0.3),
        activations: Some(Activations {
            names: vec!["Relu"],
            alpha: vec![],
            beta: vec![],
            funcs: vec![vec![F::Relu]],
        }),
        scale: 1.0,
        ..Case::new(Cell::Rnn, "forward")
    };
    check(&c);
    let c = Case {
        seq: 26,
        initial_h: true,
        ..Case::new(Cell::Rnn, "bidirectional")
    };
    check(&c);
}

#[test]
fn optional_activations_consume_alpha_and_beta_in_order() {
    // Forward f, g, h = HardSigmoid(a0, b0), Softsign, Affine(a1, b1); reverse
    // LeakyRelu(a2), ScaledTanh(a3, b2), Softplus.
    let alpha = [0.3f32, 0.5, 0.2, 1.5];
    let beta = [0.4f32, 0.1, 0.7];
    let (a, b) = (alpha.map(f64::from), beta.map(f64::from));
    let c = Case {
        initial_h: true,
        initial_c: true,
        activations: Some(Activations {
            names: vec![
                "HardSigmoid",
                "Softsign",
                "Affine",
                "LeakyRelu",
                "ScaledTanh",
                "Softplus",
            ],
            alpha: alpha.to_vec(),
            beta: beta.to_vec(),
            funcs: vec![
                vec![
                    F::HardSigmoid(a[0], b[0]),
                    F::Softsign,
                    F::Affine(a[1], b[1]),
                ],
                vec![F::LeakyRelu(a[2]), F::ScaledTanh(a[3], b[2]), F::Softplus],
            ],
        }),
        ..Case::new(Cell::Lstm, "bidirectional")
    };
    check(&c);
    // One direction's list serves both directions.
    let c = Case {
        activations: Some(Activations {
            names: vec!["Sigmoid", "Relu"],
            alpha: vec![],
            beta: vec![],
            funcs: vec![vec![F::Sigmoid, F::Relu]; 2],
        }),
        ..Case::new(Cell::Gru, "bidirectional")
    };
    check(&c);
}

/// The conversion error of `c`'s model with `edit` applied to its node.
fn refusal(c: &Case, edit: impl FnOnce(&mut NodeProto, &mut GraphProto)) -> String {
    let v = data(c);
    let (mut m, _) = model(c, &v);
    let g = m.graph.as_mut().expect("graph");
    let mut node = g.node[0].clone();
    edit(&mut node, g);
    g.node[0] = node;
    convert(&m)
        .expect_err("the node must be refused")
        .to_string()
}

#[test]
fn refuses_what_it_does_not_translate() {
    let c = Case {
        seq_lens: true,
        ..Case::new(Cell::Lstm, "forward")
    };
    let e = refusal(&c, |_, g| {
        let t = g
            .initializer
            .iter_mut()
            .find(|t| t.name() == "sequence_lens")
            .expect("lens");
        t.raw_data = Some([3i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect());
    });
    assert!(e.contains("sequence_lens"), "{e}");

    let c = Case::new(Cell::Rnn, "forward");
    let e = refusal(&c, |n, _| {
        n.attribute.push(strings_attr("activations", &["Elu"]))
    });
    assert!(e.contains("activation `Elu` is not supported"), "{e}");

    let e = refusal(&c, |n, _| {
        n.attribute.push(strings_attr("activations", &["Affine"]));
    });
    assert!(e.contains("needs an activation_alpha"), "{e}");

    let e = refusal(&c, |n, _| {
        n.attribute.retain(|a| a.name() != "direction");
        n.attribute.push(string_attr("direction", "sideways"));
    });
    assert!(e.contains("direction `sideways`"), "{e}");

    let e = refusal(&c, |n, _| {
        n.attribute.retain(|a| a.name() != "hidden_size");
        n.attribute.push(int_attr("hidden_size", 7));
    });
    assert!(e.contains("hidden_size 7"), "{e}");

    let e = refusal(&c, |n, _| n.attribute.push(float_attr("clip", -1.0)));
    assert!(e.contains("clip"), "{e}");
}
