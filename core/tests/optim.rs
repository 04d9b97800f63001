#![cfg(feature = "train")]
//! Tests of `born_core::train::optim`: optimizers, learning-rate schedules and gradient
//! clipping against values PyTorch computed (`scripts/fixtures/optim.py` writes
//! `fixtures/optim.json`; torch is not needed to run these tests), plus hand-checked cases and
//! every error path.
//!
//! Tolerances (PyTorch computes its scalars in float64 and some element operations with fused
//! multiply-adds; these are f32 throughout):
//! - parameters after each of the 10 optimizer steps: `|got - want| <= 1e-6 * max(|want|, 1)`
//!   (relative, with parameters of order 1 as the floor for values that cross zero);
//! - the 300-step Adam run: `4e-6 * max(|want|, 1)` (a few ulp of drift per step add up);
//! - learning rates: `|got - want| <= 1e-6 * |want| + 1e-12`;
//! - clipping: the norm within `1e-6` relative, clipped gradients within
//!   `1e-6 * max(|want|, 1e-30)`.

use born_core::train::optim::{
    clip_grad_norm, Adam, AdamW, LrSchedule, Optimizer, Sgd, SgdBuilder,
};
use born_core::Error;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/optim.json");

fn fixtures() -> Value {
    serde_json::from_str(FIXTURES).expect("fixtures/optim.json parses")
}

fn num(v: &Value) -> f32 {
    match v {
        Value::String(s) if s == "nan" => f32::NAN,
        Value::String(s) if s == "inf" => f32::INFINITY,
        Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
        other => other.as_f64().expect("number") as f32,
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(num).collect()
}

fn tensors(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().expect("array").iter().map(floats).collect()
}

fn hyper(h: &Value, key: &str) -> Option<f32> {
    h.get(key).map(num)
}

/// The optimizer a fixture entry describes.
fn build(kind: &str, h: &Value) -> Box<dyn Optimizer> {
    let betas = h.get("betas").map(floats);
    match kind {
        "sgd" => {
            let mut b = Sgd::builder();
            if let Some(x) = hyper(h, "lr") {
                b = b.lr(x);
            }
            if let Some(x) = hyper(h, "momentum") {
                b = b.momentum(x);
            }
            if let Some(x) = hyper(h, "dampening") {
                b = b.dampening(x);
            }
            if let Some(x) = hyper(h, "weight_decay") {
                b = b.weight_decay(x);
            }
            if let Some(x) = h.get("nesterov") {
                b = b.nesterov(x.as_bool().expect("bool"));
            }
            Box::new(b.build().expect("valid sgd"))
        }
        "adam" => {
            let mut b = Adam::builder();
            if let Some(x) = hyper(h, "lr") {
                b = b.lr(x);
            }
            if let Some(x) = &betas {
                b = b.betas(x[0], x[1]);
            }
            if let Some(x) = hyper(h, "eps") {
                b = b.eps(x);
            }
            if let Some(x) = hyper(h, "weight_decay") {
                b = b.weight_decay(x);
            }
            Box::new(b.build().expect("valid adam"))
        }
        "adamw" => {
            let mut b = AdamW::builder();
            if let Some(x) = hyper(h, "lr") {
                b = b.lr(x);
            }
            if let Some(x) = &betas {
                b = b.betas(x[0], x[1]);
            }
            if let Some(x) = hyper(h, "eps") {
                b = b.eps(x);
            }
            if let Some(x) = hyper(h, "weight_decay") {
                b = b.weight_decay(x);
            }
            Box::new(b.build().expect("valid adamw"))
        }
        other => panic!("unknown optimizer kind {other}"),
    }
}

fn schedule(s: &Value) -> LrSchedule {
    let base = num(&s["base_lr"]);
    let main = match s["kind"].as_str().expect("kind") {
        "constant" => LrSchedule::constant(base),
        "step" => LrSchedule::step(
            base,
            s["step_size"].as_u64().expect("step_size") as u32,
            num(&s["gamma"]),
        ),
        "cosine" => LrSchedule::cosine(
            base,
            s["t_max"].as_u64().expect("t_max") as u32,
            num(&s["eta_min"]),
        ),
        other => panic!("unknown schedule kind {other}"),
    }
    .expect("valid schedule");
    match s.get("warmup") {
        Some(w) if !w.is_null() => main
            .with_warmup(
                num(&w["start_factor"]),
                w["steps"].as_u64().expect("steps") as u32,
            )
            .expect("valid warmup"),
        _ => main,
    }
}

/// Runs `steps` steps of `opt` on the fixture's parameters and gradient sequence, optionally
/// setting the learning rate from `sched` first, and returns the parameters every `every`
/// steps.
fn replay(
    opt: &mut dyn Optimizer,
    f: &Value,
    steps: usize,
    every: usize,
    sched: Option<&LrSchedule>,
) -> Vec<Vec<Vec<f32>>> {
    let mut params = tensors(&f["params0"]);
    let grads: Vec<Vec<Vec<f32>>> = f["grads"].as_array().unwrap().iter().map(tensors).collect();
    let mut out = Vec::new();
    for t in 0..steps {
        if let Some(s) = sched {
            s.apply(opt, t as u32);
        }
        opt.begin_step();
        for (i, (p, g)) in params.iter_mut().zip(&grads[t % grads.len()]).enumerate() {
            opt.update(i, p, g).expect("update");
        }
        if (t + 1) % every == 0 {
            out.push(params.clone());
        }
    }
    out
}

fn compare_params(name: &str, got: &[Vec<Vec<f32>>], want: &Value, rtol: f32) {
    let want: Vec<Vec<Vec<f32>>> = want.as_array().unwrap().iter().map(tensors).collect();
    assert_eq!(got.len(), want.len(), "{name}: number of steps");
    let mut worst = 0.0f32;
    for (t, (gs, ws)) in got.iter().zip(&want).enumerate() {
        for (i, (g, w)) in gs.iter().zip(ws).enumerate() {
            assert_eq!(g.len(), w.len());
            for (j, (&a, &b)) in g.iter().zip(w).enumerate() {
                let err = (a - b).abs() / b.abs().max(1.0);
                worst = worst.max(err);
                assert!(
                    err <= rtol,
                    "{name}: record {t}, tensor {i}, element {j}: {a} vs torch {b} (err {err:e})"
                );
            }
        }
    }
    eprintln!("{name}: worst scaled error {worst:e}");
}

#[test]
fn optimizers_match_torch() {
    let f = fixtures();
    for o in f["optims"].as_array().unwrap() {
        let name = o["name"].as_str().unwrap();
        let mut opt = build(o["kind"].as_str().unwrap(), &o["hyper"]);
        let got = replay(opt.as_mut(), &f, 10, 1, None);
        compare_params(name, &got, &o["expected"], 1e-6);
    }
}

#[test]
fn scheduled_adamw_matches_torch() {
    let f = fixtures();
    let s = &f["scheduled"];
    let sched = schedule(&s["schedule"]);
    let lrs = floats(&s["lrs"]);
    for (t, &want) in lrs.iter().enumerate() {
        let got = sched.lr_at(t as u32);
        assert!(
            (got - want).abs() <= 1e-6 * want.abs() + 1e-12,
            "step {t}: {got} vs {want}"
        );
    }
    let mut opt = build("adamw", &s["hyper"]);
    let got = replay(opt.as_mut(), &f, lrs.len(), 1, Some(&sched));
    compare_params("adamw scheduled", &got, &s["expected"], 1e-6);
}

#[test]
fn long_adam_run_matches_torch() {
    let f = fixtures();
    let a = &f["adam_long"];
    let mut opt = build("adam", &a["hyper"]);
    let steps = a["steps"].as_u64().unwrap() as usize;
    let every = a["every"].as_u64().unwrap() as usize;
    let got = replay(opt.as_mut(), &f, steps, every, None);
    compare_params("adam 300 steps", &got, &a["expected"], 4e-6);
}

#[test]
fn schedules_match_torch() {
    let f = fixtures();
    for s in f["schedules"].as_array().unwrap() {
        let sched = schedule(s);
        let mut worst = 0.0f32;
        for (t, want) in floats(&s["lrs"]).into_iter().enumerate() {
            let got = sched.lr_at(t as u32);
            let err = (got - want).abs();
            worst = worst.max(err / want.abs().max(1e-30));
            assert!(
                err <= 1e-6 * want.abs() + 1e-12,
                "{s:?}\nstep {t}: {got} vs torch {want}"
            );
        }
        eprintln!(
            "{} {:?}: worst relative error {worst:e}",
            s["kind"], s["warmup"]
        );
    }
}

#[test]
fn clip_matches_torch() {
    let f = fixtures();
    for c in f["clip"].as_array().unwrap() {
        let mut grads = tensors(&c["grads"]);
        let mut views: Vec<&mut [f32]> = grads.iter_mut().map(|g| g.as_mut_slice()).collect();
        let norm = clip_grad_norm(&mut views, num(&c["max_norm"])).unwrap();
        let want = num(&c["norm"]);
        assert!((norm - want).abs() <= 1e-6 * want, "norm {norm} vs {want}");
        for (g, w) in grads.iter().zip(tensors(&c["clipped"])) {
            for (&a, &b) in g.iter().zip(&w) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-30),
                    "clipped {a} vs {b}"
                );
            }
        }
    }
}

// ---- hand-checked behaviour ----

#[test]
fn sgd_momentum_first_step_uses_the_gradient() {
    let mut opt = Sgd::builder()
        .lr(0.5)
        .momentum(0.9)
        .dampening(0.5)
        .build()
        .unwrap();
    let mut p = [1.0f32, 2.0];
    opt.begin_step();
    opt.update(0, &mut p, &[1.0, -2.0]).unwrap();
    // First step: b = g (no dampening), p -= 0.5 g.
    assert_eq!(p, [0.5, 3.0]);
    opt.update(0, &mut p, &[1.0, -2.0]).unwrap();
    // b = 0.9 b + 0.5 g = 1.4 g.
    assert_eq!(p, [0.5 - 0.5 * 1.4, 3.0 + 0.5 * 2.8]);
}

#[test]
fn adam_first_step_moves_by_lr() {
    // After bias correction the first update is lr * g / (|g| + eps'), i.e. about lr sign(g).
    let mut opt = Adam::new(0.01).unwrap();
    let mut p = [0.0f32, 1.0, -3.0];
    opt.begin_step();
    opt.update(7, &mut p, &[1e-3, -5.0, 0.0]).unwrap();
    assert!(
        (p[0] + 0.01 * (1e-3 / (1e-3 + 1e-8))).abs() < 1e-9,
        "{}",
        p[0]
    );
    assert!((p[1] - 1.01).abs() < 1e-7, "{}", p[1]);
    // Zero gradient: zero moments, eps keeps the step finite and zero.
    assert_eq!(p[2], -3.0);
    assert_eq!(opt.steps(), 1);
}

#[test]
fn adamw_decays_even_with_zero_gradient() {
    let mut opt = AdamW::builder().lr(0.1).weight_decay(0.5).build().unwrap();
    let mut p = [2.0f32];
    opt.begin_step();
    opt.update(0, &mut p, &[0.0]).unwrap();
    assert_eq!(p, [2.0 * (1.0 - 0.1 * 0.5)]);
    // Adam's L2 decay goes through the moments instead: first step moves by about lr.
    let mut opt = Adam::builder().lr(0.1).weight_decay(0.5).build().unwrap();
    let mut p = [2.0f32];
    opt.begin_step();
    opt.update(0, &mut p, &[0.0]).unwrap();
    assert!((p[0] - 1.9).abs() < 1e-6, "{}", p[0]);
}

#[test]
fn defaults_are_pytorch_defaults() {
    let opt = Sgd::builder().build().unwrap();
    assert_eq!(opt.learning_rate(), 1e-3);
    assert_eq!(Adam::builder().build().unwrap().learning_rate(), 1e-3);
    assert_eq!(AdamW::builder().build().unwrap().learning_rate(), 1e-3);
    assert_eq!(SgdBuilder::default(), Sgd::builder());
    // AdamW's default weight decay is 0.01: one zero-gradient step shrinks by 1 - 1e-5.
    let mut opt = AdamW::new(1e-3).unwrap();
    let mut p = [1.0f32];
    opt.begin_step();
    opt.update(0, &mut p, &[0.0]).unwrap();
    assert_eq!(p, [1.0 - 1e-3 * 0.01]);
}

#[test]
fn learning_rate_can_be_set() {
    let mut opt = Sgd::new(0.1).unwrap();
    opt.set_learning_rate(0.25);
    assert_eq!(opt.learning_rate(), 0.25);
    let mut p = [1.0f32];
    opt.update(0, &mut p, &[2.0]).unwrap();
    assert_eq!(p, [0.5]);
    let mut opt = Adam::new(0.1).unwrap();
    opt.set_learning_rate(0.2);
    assert_eq!(opt.learning_rate(), 0.2);
}

#[test]
fn reset_forgets_state() {
    let mut opt = Adam::new(0.1).unwrap();
    opt.begin_step();
    let mut p = [0.0f32; 3];
    opt.update(0, &mut p, &[1.0, 1.0, 1.0]).unwrap();
    opt.reset();
    assert_eq!(opt.steps(), 0);
    opt.begin_step();
    // A new length for index 0 is fine after the reset.
    let mut q = [0.0f32; 2];
    opt.update(0, &mut q, &[-1.0, -1.0]).unwrap();
    assert!((q[0] - 0.1).abs() < 1e-6);

    let mut sgd = Sgd::builder().momentum(0.9).build().unwrap();
    sgd.update(0, &mut p, &[0.0; 3]).unwrap();
    sgd.reset();
    sgd.update(0, &mut q, &[0.0; 2]).unwrap();
}

#[test]
fn sparse_and_huge_indices_are_independent() {
    let mut opt = Sgd::builder().lr(1.0).momentum(0.5).build().unwrap();
    let mut a = [0.0f32; 2];
    let mut b = [0.0f32; 5];
    for _ in 0..3 {
        opt.update(usize::MAX, &mut a, &[1.0, 1.0]).unwrap();
        opt.update(3, &mut b, &[2.0; 5]).unwrap();
    }
    // b_1 = g, b_2 = 1.5 g, b_3 = 1.75 g; p = -(1 + 1.5 + 1.75) g.
    assert_eq!(a, [-4.25, -4.25]);
    assert_eq!(b, [-8.5; 5]);
}

#[test]
fn schedule_shapes() {
    let s = LrSchedule::cosine(1.0, 4, 0.1).unwrap();
    assert_eq!(s.lr_at(0), 1.0);
    assert!((s.lr_at(2) - 0.55).abs() < 1e-7);
    // Holds the minimum after t_max (PyTorch's cosine would rise again).
    for t in [4, 5, 8, 1000, u32::MAX] {
        assert_eq!(s.lr_at(t), 0.1);
    }
    let w = LrSchedule::constant(0.4)
        .unwrap()
        .with_warmup(0.0, 4)
        .unwrap();
    assert_eq!(
        [
            w.lr_at(0),
            w.lr_at(1),
            w.lr_at(2),
            w.lr_at(4),
            w.lr_at(u32::MAX)
        ],
        [0.0, 0.1, 0.2, 0.4, 0.4]
    );
    assert_eq!(w.base_lr(), 0.4);
    let st = LrSchedule::step(1.0, 1, 0.5).unwrap();
    assert_eq!(st.lr_at(3), 0.125);
    assert_eq!(st.lr_at(u32::MAX), 0.0);
    assert_eq!(LrSchedule::step(2.0, 5, 1.0).unwrap().lr_at(u32::MAX), 2.0);
    // Warmup then cosine: the cosine starts at its step 0 at the end of the warmup.
    let wc = LrSchedule::cosine(1.0, 2, 0.0)
        .unwrap()
        .with_warmup(0.5, 2)
        .unwrap();
    assert_eq!([wc.lr_at(0), wc.lr_at(1), wc.lr_at(2)], [0.5, 0.75, 1.0]);
    assert!((wc.lr_at(3) - 0.5).abs() < 1e-7);
    assert_eq!(wc.lr_at(4), 0.0);
    let mut opt = Sgd::new(1.0).unwrap();
    wc.apply(&mut opt, 1);
    assert_eq!(opt.learning_rate(), 0.75);
}

#[test]
fn cosine_tail_is_accurate() {
    // (1 + cos) / 2 near the end of a long schedule, against f64.
    let t_max = 100_000u32;
    let s = LrSchedule::cosine(1.0, t_max, 0.0).unwrap();
    for k in [1, 2, 10, 50_000, 99_000, 99_990, 99_999] {
        let want = (1.0 + (std::f64::consts::PI * k as f64 / t_max as f64).cos()) / 2.0;
        let got = s.lr_at(k) as f64;
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "step {k}: {got} vs {want}"
        );
    }
}

#[test]
fn clip_edge_cases() {
    // Nothing to clip.
    let mut none: Vec<&mut [f32]> = Vec::new();
    assert_eq!(clip_grad_norm(&mut none, 1.0).unwrap(), 0.0);
    let mut z = [0.0f32; 9];
    assert_eq!(clip_grad_norm(&mut [&mut z[..]], 1.0).unwrap(), 0.0);

    // Non-finite: returned, gradients untouched.
    let mut a = [1.0f32, f32::INFINITY, 3.0];
    let mut b = [5.0f32; 10];
    let n = clip_grad_norm(&mut [&mut a[..], &mut b[..]], 1.0).unwrap();
    assert_eq!(n, f32::INFINITY);
    assert_eq!(a, [1.0, f32::INFINITY, 3.0]);
    assert_eq!(b, [5.0; 10]);
    let mut c = [1.0f32, f32::NAN, f32::INFINITY];
    assert!(clip_grad_norm(&mut [&mut c[..]], 1.0).unwrap().is_nan());
    assert_eq!(c[0], 1.0);

    // A true norm above f32::MAX is infinite too.
    let mut big = [3e38f32; 4];
    assert_eq!(
        clip_grad_norm(&mut [&mut big[..]], 1.0).unwrap(),
        f32::INFINITY
    );
    assert_eq!(big, [3e38; 4]);

    // max_norm = inf never clips.
    let mut g = [3.0f32, 4.0];
    assert_eq!(
        clip_grad_norm(&mut [&mut g[..]], f32::INFINITY).unwrap(),
        5.0
    );
    assert_eq!(g, [3.0, 4.0]);
}

#[test]
fn clip_rescales_when_squares_overflow_or_underflow() {
    for scale in [1e20f64, 1e30, 1e37, 1e-18, 1e-22, 1e-30, 1e-40, 1e-44] {
        let vals: Vec<f32> = (0..37)
            .map(|i| ((i as f64 * 0.37).sin() * scale) as f32)
            .collect();
        let want = vals
            .iter()
            .map(|&v| (v as f64) * (v as f64))
            .sum::<f64>()
            .sqrt();
        let mut g = vals.clone();
        let (head, tail) = g.split_at_mut(11);
        let max_norm = (want * 0.5) as f32;
        let max_norm = if max_norm > 0.0 {
            max_norm
        } else {
            f32::MIN_POSITIVE
        };
        let got = clip_grad_norm(&mut [head, tail], max_norm).unwrap() as f64;
        // Subnormal norms are rounded to a multiple of 2^-149.
        let quantum = f64::from(f32::from_bits(1));
        assert!(
            (got - want).abs() <= 1e-6 * want + quantum,
            "scale {scale}: {got} vs {want}"
        );
        // Clipped to (about) max_norm.
        let after = g
            .iter()
            .map(|&v| (v as f64) * (v as f64))
            .sum::<f64>()
            .sqrt();
        assert!(
            after <= max_norm as f64 * (1.0 + 1e-5),
            "{after} > {max_norm}"
        );
    }
}

#[test]
fn clip_is_deterministic_across_splits_of_equal_slices() {
    let vals: Vec<f32> = (0..100).map(|i| (i as f32 * 0.731).cos()).collect();
    let mut a = vals.clone();
    let mut b = vals.clone();
    let na = clip_grad_norm(&mut [&mut a[..]], 0.5).unwrap();
    let nb = clip_grad_norm(&mut [&mut b[..]], 0.5).unwrap();
    assert_eq!(na.to_bits(), nb.to_bits());
    assert_eq!(a, b);
}

// ---- errors ----

fn invalid(r: Result<impl std::fmt::Debug, Error>, op: &str) {
    match r {
        Err(Error::InvalidArgument { op: o, .. }) => assert_eq!(o, op),
        other => panic!("expected InvalidArgument from {op}, got {other:?}"),
    }
}

#[test]
fn sgd_rejects_bad_settings() {
    let b = Sgd::builder;
    invalid(b().lr(-0.1).build(), "sgd");
    invalid(b().lr(f32::NAN).build(), "sgd");
    invalid(b().lr(f32::INFINITY).build(), "sgd");
    invalid(b().momentum(-0.5).build(), "sgd");
    invalid(b().momentum(f32::NAN).build(), "sgd");
    invalid(b().dampening(1.5).build(), "sgd");
    invalid(b().dampening(-0.1).build(), "sgd");
    invalid(b().weight_decay(-1e-4).build(), "sgd");
    invalid(b().nesterov(true).build(), "sgd");
    invalid(
        b().nesterov(true).momentum(0.9).dampening(0.1).build(),
        "sgd",
    );
    invalid(Sgd::new(-1.0), "sgd");
    assert!(b().nesterov(true).momentum(0.9).build().is_ok());
    assert!(b().lr(0.0).momentum(0.0).dampening(1.0).build().is_ok());
}

#[test]
fn adam_rejects_bad_settings() {
    for (op, r) in [
        ("adam", Adam::builder().lr(-1e-3).build().map(|_| ())),
        (
            "adam",
            Adam::builder().betas(1.0, 0.999).build().map(|_| ()),
        ),
        ("adam", Adam::builder().betas(0.9, 1.0).build().map(|_| ())),
        ("adam", Adam::builder().betas(-0.1, 0.9).build().map(|_| ())),
        (
            "adam",
            Adam::builder().betas(0.9, f32::NAN).build().map(|_| ()),
        ),
        ("adam", Adam::builder().eps(0.0).build().map(|_| ())),
        (
            "adam",
            Adam::builder().eps(f32::INFINITY).build().map(|_| ()),
        ),
        (
            "adam",
            Adam::builder().weight_decay(-0.1).build().map(|_| ()),
        ),
        ("adam", Adam::new(f32::NAN).map(|_| ())),
        (
            "adamw",
            AdamW::builder().lr(f32::INFINITY).build().map(|_| ()),
        ),
        (
            "adamw",
            AdamW::builder().betas(0.9, 1.5).build().map(|_| ()),
        ),
        ("adamw", AdamW::builder().eps(-1e-8).build().map(|_| ())),
        (
            "adamw",
            AdamW::builder().weight_decay(f32::NAN).build().map(|_| ()),
        ),
        ("adamw", AdamW::new(-0.5).map(|_| ())),
    ] {
        invalid(r, op);
    }
    assert!(Adam::builder().betas(0.0, 0.0).build().is_ok());
}

#[test]
fn adam_update_before_begin_step_is_an_error() {
    let mut opt = Adam::new(0.1).unwrap();
    let mut p = [1.0f32];
    invalid(opt.update(0, &mut p, &[1.0]), "adam");
    assert_eq!(p, [1.0]);
    let mut opt = AdamW::new(0.1).unwrap();
    invalid(opt.update(0, &mut p, &[1.0]), "adamw");
}

#[test]
fn length_mismatches_are_errors() {
    let mut opts: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("sgd", Box::new(Sgd::new(0.1).unwrap())),
        (
            "sgd",
            Box::new(Sgd::builder().momentum(0.9).build().unwrap()),
        ),
        ("adam", Box::new(Adam::new(0.1).unwrap())),
        ("adamw", Box::new(AdamW::new(0.1).unwrap())),
    ];
    for (op, opt) in opts.iter_mut() {
        opt.begin_step();
        let mut p = [1.0f32; 4];
        assert_eq!(
            opt.update(0, &mut p, &[1.0; 3]),
            Err(Error::DimMismatch {
                op,
                what: "gradient length (must equal the parameter's)",
                expected: 4,
                got: 3,
            })
        );
        assert_eq!(p, [1.0; 4], "{op}: untouched on error");
        opt.update(0, &mut p, &[1.0; 4]).unwrap();
        let before = p;
        let mut q = [1.0f32; 5];
        match opt.update(0, &mut q, &[1.0; 5]) {
            Err(Error::DimMismatch {
                op: o,
                expected: 4,
                got: 5,
                ..
            }) => assert_eq!(o, *op),
            other => panic!("{op}: {other:?}"),
        }
        assert_eq!(q, [1.0; 5]);
        // The index still works with its own length, and other indices are free.
        opt.update(0, &mut p, &[1.0; 4]).unwrap();
        assert_ne!(p, before);
        opt.update(1, &mut q, &[1.0; 5]).unwrap();
        // Empty parameters are fine.
        opt.update(2, &mut [], &[]).unwrap();
    }
}

#[test]
fn schedule_rejects_bad_settings() {
    let op = "lr_schedule";
    invalid(LrSchedule::constant(-1.0), op);
    invalid(LrSchedule::constant(f32::NAN), op);
    invalid(LrSchedule::constant(f32::INFINITY), op);
    invalid(LrSchedule::step(0.1, 3, 0.0), op);
    invalid(LrSchedule::step(0.1, 3, 1.5), op);
    invalid(LrSchedule::step(0.1, 3, f32::NAN), op);
    invalid(LrSchedule::step(-0.1, 3, 0.5), op);
    invalid(LrSchedule::cosine(0.1, 10, 0.2), op);
    invalid(LrSchedule::cosine(0.1, 10, -0.01), op);
    invalid(LrSchedule::cosine(0.1, 10, f32::NAN), op);
    let c = LrSchedule::constant(0.1).unwrap();
    invalid(c.with_warmup(-0.1, 5), op);
    invalid(c.with_warmup(1.1, 5), op);
    invalid(c.with_warmup(f32::NAN, 5), op);
    assert_eq!(
        LrSchedule::step(0.1, 0, 0.5),
        Err(Error::ZeroDim {
            op,
            what: "step_size"
        })
    );
    assert_eq!(
        LrSchedule::cosine(0.1, 0, 0.0),
        Err(Error::ZeroDim { op, what: "t_max" })
    );
    assert_eq!(
        c.with_warmup(0.5, 0),
        Err(Error::ZeroDim {
            op,
            what: "warmup steps"
        })
    );
}

#[test]
fn clip_rejects_bad_max_norm() {
    for m in [0.0f32, -1.0, f32::NAN, f32::NEG_INFINITY] {
        let mut g = [1.0f32, 2.0];
        invalid(clip_grad_norm(&mut [&mut g[..]], m), "clip_grad_norm");
        assert_eq!(g, [1.0, 2.0]);
    }
}
