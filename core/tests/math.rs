//! Accuracy of `kernels::math` against f64 references, beside `libm`'s f32 functions.
//!
//! The references are `libm`'s f64 functions (the same code on every target, so the emulated
//! aarch64 run checks against the same values as the host). Each function is swept over f32
//! bit patterns (every `STRIDE`-th pattern of the whole range, plus every f32 of a few
//! critical intervals) and the largest error, in ulp of the exact result, must stay within
//! the bound its doc comment states. Set `BORN_MATH_STRIDE=1` to sweep all 2^32 inputs
//! (hours; 31 takes about ten minutes), `BORN_SWEEP_THIN=k` to take every `k`-th f32 of the
//! dense intervals. `--nocapture` prints the figures: born's max error and, on the same
//! inputs, that of `libm`'s f32 function (`expf`, `logf`, ...), the usual choice on a
//! microcontroller.

use born_core::kernels::math;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/math.json");

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| match e {
            Value::String(s) if s == "nan" => f32::NAN,
            Value::String(s) if s == "inf" => f32::INFINITY,
            Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
            other => other.as_f64().expect("number") as f32,
        })
        .collect()
}

#[test]
fn libm_f64_erf_reference_matches_python() {
    // Python 3 math.erf / math.erfc.
    let cases = [
        (0.5, 0.5204998778130465, 0.4795001221869535),
        (1.0, 0.8427007929497149, 0.15729920705028513),
        (2.4, 0.999311486103355, 0.0006885138966450786),
        (3.0, 0.9999779095030014, 2.209049699858544e-05),
        (6.0, 1.0, 2.1519736712498913e-17),
        (10.0, 1.0, 2.088487583762545e-45),
    ];
    for (x, e, c) in cases {
        assert!((libm::erf(x) - e).abs() <= 1e-15 * e, "erf({x})");
        assert!(
            (libm::erfc(x) - c).abs() <= 1e-13 * c,
            "erfc({x}) = {}",
            libm::erfc(x)
        );
    }
}

fn stride() -> u32 {
    std::env::var("BORN_MATH_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1021)
}

/// Error of `got` in ulp of `exact` (an f64 reference), with f32's subnormal ulp as the
/// floor. Matching infinities and NaNs count as 0; a mismatch in class is infinite.
fn ulp_err(got: f32, exact: f64) -> f64 {
    if exact.is_nan() {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let rounded = exact as f32;
    if rounded.is_infinite() || got.is_infinite() {
        return if got == rounded { 0.0 } else { f64::INFINITY };
    }
    if got.is_nan() {
        return f64::INFINITY;
    }
    let a = exact.abs();
    let ulp = if a < f32::MIN_POSITIVE as f64 {
        2f64.powi(-149)
    } else {
        2f64.powi(a.log2().floor() as i32 - 23)
    };
    (got as f64 - exact).abs() / ulp
}

struct Worst {
    name: &'static str,
    err: f64,
    at: f32,
    count: u64,
}

impl Worst {
    fn new(name: &'static str) -> Self {
        Worst {
            name,
            err: 0.0,
            at: 0.0,
            count: 0,
        }
    }
    fn check(&mut self, x: f32, got: f32, exact: f64) {
        let e = ulp_err(got, exact);
        self.count += 1;
        if e > self.err || e.is_nan() {
            self.err = e;
            self.at = x;
        }
    }
    /// Prints born's figure beside `libm`'s (`lib`, measured on the same inputs) and
    /// asserts born's `bound`.
    fn finish_beside(&self, bound: f64, lib: &Worst) {
        self.finish(bound);
        println!(
            "{:8} beside libm {:6} max error {:.3} ulp at x = {:e}",
            "", lib.name, lib.err, lib.at
        );
    }

    fn finish(&self, bound: f64) {
        println!(
            "{:8} max error {:.3} ulp at x = {:e} ({:08x}) over {} inputs",
            self.name,
            self.err,
            self.at,
            self.at.to_bits(),
            self.count
        );
        assert!(
            self.err <= bound,
            "{}: {} ulp at {:e} exceeds {} ulp",
            self.name,
            self.err,
            self.at,
            bound
        );
    }
}

/// `BORN_SWEEP_THIN=k` takes every `k`-th f32 of the dense intervals (default 1: all of
/// them); emulated runs (qemu) set it, the host sweeps them whole.
fn thin() -> u32 {
    std::env::var("BORN_SWEEP_THIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Every `stride`-th f32 bit pattern, then every f32 (or every [`thin`]-th) in each of
/// `dense`.
fn sweep(dense: &[(f32, f32)], mut f: impl FnMut(f32)) {
    let s = stride();
    let k = thin();
    let mut bits = 0u32;
    loop {
        f(f32::from_bits(bits));
        match bits.checked_add(s) {
            Some(b) => bits = b,
            None => break,
        }
    }
    for &(lo, hi) in dense {
        let mut x = lo;
        while x <= hi {
            f(x);
            for _ in 0..k {
                x = next_up(x);
            }
        }
    }
    for x in [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        1e-45,
        -1e-45,
    ] {
        f(x);
    }
}

fn next_up(x: f32) -> f32 {
    let b = x.to_bits();
    if x == 0.0 {
        return 1e-45;
    }
    if x > 0.0 {
        f32::from_bits(b + 1)
    } else {
        f32::from_bits(b - 1)
    }
}

#[test]
fn exp_accuracy() {
    let (mut w, mut l) = (Worst::new("exp"), Worst::new("expf"));
    sweep(
        &[(-0.5, -0.25), (0.25, 0.5), (88.0, 89.0), (-104.0, -102.0)],
        |x| {
            let exact = libm::exp(x as f64);
            w.check(x, math::exp(x), exact);
            l.check(x, libm::expf(x), exact);
        },
    );
    w.finish_beside(1.0, &l);
    assert_eq!(math::exp(0.0), 1.0);
    assert_eq!(math::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(math::exp(89.0), f32::INFINITY);
    assert_eq!(math::exp(-110.0), 0.0);
    assert!(math::exp(f32::NAN).is_nan());
}

#[test]
fn ln_accuracy() {
    let (mut w, mut l) = (Worst::new("ln"), Worst::new("logf"));
    sweep(&[(0.5, 2.0)], |x| {
        let exact = libm::log(x as f64);
        w.check(x, math::ln(x), exact);
        l.check(x, libm::logf(x), exact);
    });
    w.finish_beside(1.0, &l);
    assert_eq!(math::ln(1.0), 0.0);
    assert_eq!(math::ln(0.0), f32::NEG_INFINITY);
    assert_eq!(math::ln(-0.0), f32::NEG_INFINITY);
    assert!(math::ln(-1.0).is_nan());
    assert_eq!(math::ln(f32::INFINITY), f32::INFINITY);
}

#[test]
fn tanh_accuracy() {
    let (mut w, mut l) = (Worst::new("tanh"), Worst::new("tanhf"));
    sweep(&[(0.5, 0.75), (-0.75, -0.5)], |x| {
        let exact = libm::tanh(x as f64);
        w.check(x, math::tanh(x), exact);
        l.check(x, libm::tanhf(x), exact);
    });
    w.finish_beside(1.5, &l);
    assert_eq!(math::tanh(f32::INFINITY), 1.0);
    assert_eq!(math::tanh(f32::NEG_INFINITY), -1.0);
    assert_eq!(math::tanh(-0.0).to_bits(), (-0.0f32).to_bits());
}

#[test]
fn sigmoid_accuracy() {
    let mut w = Worst::new("sigmoid");
    sweep(&[(-1.0, -0.5), (0.5, 1.0)], |x| {
        let xd = x as f64;
        let exact = if xd >= 0.0 {
            1.0 / (1.0 + libm::exp(-xd))
        } else {
            libm::exp(xd) / (1.0 + libm::exp(xd))
        };
        w.check(x, math::sigmoid(x), exact)
    });
    w.finish(2.5);
    assert_eq!(math::sigmoid(f32::INFINITY), 1.0);
    assert_eq!(math::sigmoid(f32::NEG_INFINITY), 0.0);
    assert!(math::sigmoid(-100.0) > 0.0);
}

#[test]
fn erf_accuracy() {
    let (mut w, mut l) = (Worst::new("erf"), Worst::new("erff"));
    sweep(&[(0.5, 0.75), (-0.75, -0.5), (3.8, 4.0)], |x| {
        let exact = libm::erf(x as f64);
        w.check(x, math::erf(x), exact);
        l.check(x, libm::erff(x), exact);
    });
    w.finish_beside(3.0, &l);
    assert_eq!(math::erf(f32::INFINITY), 1.0);
    assert_eq!(math::erf(f32::NEG_INFINITY), -1.0);
    assert_eq!(math::erf(0.0), 0.0);
}

#[test]
fn erfc_accuracy() {
    let (mut w, mut l) = (Worst::new("erfc"), Worst::new("erfcf"));
    sweep(
        &[(0.5, 0.75), (-0.75, -0.5), (1.05, 1.15), (9.0, 10.5)],
        |x| {
            let exact = libm::erfc(x as f64);
            w.check(x, math::erfc(x), exact);
            l.check(x, libm::erfcf(x), exact);
        },
    );
    w.finish_beside(6.0, &l);
    assert_eq!(math::erfc(f32::INFINITY), 0.0);
    assert_eq!(math::erfc(f32::NEG_INFINITY), 2.0);
}

#[test]
fn sqrt_is_correctly_rounded() {
    let mut w = Worst::new("sqrt");
    let mut p = Worst::new("sqrt_portable");
    let mut l = Worst::new("sqrtf");
    sweep(&[(0.25, 4.0), (0.0, 1e-38)], |x| {
        let exact = (libm::sqrt(x as f64) as f32) as f64;
        w.check(x, math::sqrt(x), exact);
        p.check(x, math::sqrt_portable(x), exact);
        l.check(x, libm::sqrtf(x), exact);
    });
    w.finish_beside(0.0, &l);
    p.finish(0.0);
    assert_eq!(math::sqrt_portable(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(math::sqrt_portable(-1.0).is_nan());
    assert_eq!(math::sqrt_portable(f32::INFINITY), f32::INFINITY);
}

#[test]
fn sin_cos_accuracy() {
    let (mut s, mut ls) = (Worst::new("sin"), Worst::new("sinf"));
    let (mut c, mut lc) = (Worst::new("cos"), Worst::new("cosf"));
    // Around the first multiples of pi/2 (where the reduction cancels) and the switch from
    // Cody-Waite to the integer reduction at 6400.
    let dense = [
        (0.75, 0.8),
        (1.5, 1.65),
        (-3.2, -3.1),
        (4.7, 4.75),
        (6.25, 6.3),
        (6300.0, 6500.0),
        (100_000.0, 100_100.0),
    ];
    sweep(&dense, |x| {
        let (es, ec) = (libm::sin(x as f64), libm::cos(x as f64));
        s.check(x, math::sin(x), es);
        ls.check(x, libm::sinf(x), es);
        c.check(x, math::cos(x), ec);
        lc.check(x, libm::cosf(x), ec);
    });
    s.finish_beside(1.0, &ls);
    c.finish_beside(1.0, &lc);
    assert_eq!(math::sin(0.0), 0.0);
    assert_eq!(math::sin(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(math::cos(0.0), 1.0);
    assert!(math::sin(f32::INFINITY).is_nan());
    assert!(math::cos(f32::NAN).is_nan());
}

/// Python's `math` (float64, rounded to f32) on the inputs of scripts/fixtures/math.py. The
/// bound is each function's stated error plus half an ulp for the rounding of the expected
/// value.
#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    type F = fn(f32) -> f32;
    let table: [(&str, F, f64); 9] = [
        ("exp", math::exp, 1.0),
        ("ln", math::ln, 1.0),
        ("tanh", math::tanh, 1.5),
        ("sigmoid", math::sigmoid, 2.5),
        ("erf", math::erf, 3.0),
        ("erfc", math::erfc, 6.0),
        ("sqrt", math::sqrt, 0.0),
        ("sin", math::sin, 1.0),
        ("cos", math::cos, 1.0),
    ];
    let funcs = v["funcs"].as_array().expect("funcs");
    assert_eq!(funcs.len(), table.len());
    for (name, f, bound) in table {
        let case = funcs
            .iter()
            .find(|c| c["name"] == name)
            .expect("function in fixture");
        let (xs, want) = (floats(&case["x"]), floats(&case["want"]));
        assert_eq!(xs.len(), want.len());
        for (&x, &w) in xs.iter().zip(&want) {
            let e = ulp_err(f(x), w as f64);
            assert!(e <= bound + 0.5, "{name}({x:e}) = {:e}, want {w:e}", f(x));
        }
    }
    let p = &v["pow"];
    let (a, b, want) = (floats(&p["a"]), floats(&p["b"]), floats(&p["want"]));
    for ((&x, &y), &w) in a.iter().zip(&b).zip(&want) {
        let got = math::pow(x, y);
        let tol = ((y as f64 * (x as f64).ln()).abs() + 8.0) * 6e-8 * (w as f64).abs();
        assert!(
            (got as f64 - w as f64).abs() <= tol,
            "pow({x}, {y}) = {got:e}, want {w:e}"
        );
    }
}

#[test]
fn pow_special_cases() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    // (x, y, expected) from C99 Annex F powf, which numpy.power follows.
    let cases = [
        (nan, 0.0, 1.0),
        (1.0, nan, 1.0),
        (2.0, -0.0, 1.0),
        (-0.0, 3.0, -0.0),
        (-0.0, -3.0, -inf),
        (0.0, -2.0, inf),
        (-0.0, 2.0, 0.0),
        (-0.0, 0.5, 0.0),
        (-1.0, inf, 1.0),
        (-1.0, -inf, 1.0),
        (0.5, -inf, inf),
        (2.0, -inf, 0.0),
        (0.5, inf, 0.0),
        (2.0, inf, inf),
        (-inf, -3.0, -0.0),
        (-inf, -2.0, 0.0),
        (-inf, 3.0, -inf),
        (-inf, 0.5, inf),
        (inf, -1.0, 0.0),
        (inf, 2.0, inf),
        (-2.0, 3.0, -8.0),
        (-2.0, 2.0, 4.0),
        (2.0, 10.0, 1024.0),
        (2.0, -2.0, 0.25),
        (4.0, 0.5, 2.0),
        (1e20, -2.0, 1e-40),
    ];
    for (x, y, want) in cases {
        let got = math::pow(x, y);
        assert!(
            got.to_bits() == want.to_bits() || (got - want).abs() <= 1e-6 * want.abs(),
            "pow({x}, {y}) = {got:e}, want {want:e}"
        );
    }
    assert!(math::pow(-2.0, 0.5).is_nan());
    assert!(math::pow(nan, 1.0).is_nan());
    assert!(math::pow(2.0, nan).is_nan());
}

/// Largest errors of an approximation: in ulp, relative and absolute (finite results only).
#[derive(Default)]
struct Approx {
    ulp: f64,
    rel: f64,
    abs: f64,
}

impl Approx {
    fn check(&mut self, got: f32, exact: f64) {
        if !exact.is_finite() || !(exact as f32).is_finite() {
            return;
        }
        let e = (got as f64 - exact).abs();
        self.ulp = self.ulp.max(ulp_err(got, exact));
        self.abs = self.abs.max(e);
        if exact != 0.0 {
            self.rel = self.rel.max(e / exact.abs());
        }
    }
}

/// `micromath` (what the `fast-math` feature puts in place of born's exp, ln, sin and cos),
/// on the ranges a model's activations use: the figures in `kernels::math`'s docs, asserted
/// as bounds here. NaN from a finite input counts as an infinite error.
#[test]
fn micromath_accuracy() {
    use micromath::F32Ext;
    /// Name, micromath's function, the reference, input range, max relative error, max
    /// absolute error.
    type Row = (
        &'static str,
        fn(f32) -> f32,
        fn(f64) -> f64,
        (f32, f32),
        f64,
        f64,
    );
    let table: [Row; 4] = [
        (
            "exp",
            F32Ext::exp,
            libm::exp,
            (-87.0, 88.0),
            2.5e-3,
            f64::INFINITY,
        ),
        (
            "ln",
            F32Ext::ln,
            libm::log,
            (1e-30, 1e30),
            f64::INFINITY,
            0.12,
        ),
        (
            "sin",
            F32Ext::sin,
            libm::sin,
            (-100.0, 100.0),
            f64::INFINITY,
            1.2e-3,
        ),
        (
            "cos",
            F32Ext::cos,
            libm::cos,
            (-100.0, 100.0),
            f64::INFINITY,
            1.2e-3,
        ),
    ];
    for (name, f, r, (lo, hi), rel, abs) in table {
        let mut a = Approx::default();
        sweep(&[], |x| {
            if (lo..=hi).contains(&x) {
                a.check(f(x), r(x as f64));
            }
        });
        println!(
            "micromath {name:4} on [{lo:e}, {hi:e}]: max error {:.3e} ulp, relative {:.2e}, absolute {:.2e}",
            a.ulp, a.rel, a.abs
        );
        assert!(
            a.rel <= rel && a.abs <= abs,
            "micromath {name}: {:e} / {:e}",
            a.rel,
            a.abs
        );
    }
}
