//! Views, layouts, concat and the owned tensor, checked against hand-computed values.

use born_core::tensor::{concat, Layout, TensorView, TensorViewMut};
use born_core::{Error, Shape, Tensor};

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

fn collect(v: &TensorView<'_, i32>) -> Vec<i32> {
    v.iter().collect()
}

#[test]
fn transpose_permute_and_slice_are_views() {
    let data: Vec<i32> = (0..24).collect();
    let t = TensorView::new(&data, shape(&[2, 3, 4])).unwrap();
    let tt = t.transpose(0, 2).unwrap();
    assert_eq!(tt.shape().dims(), &[4, 3, 2]);
    assert!(!tt.layout().is_contiguous());
    // Element [i, j, k] of the transpose is element [k, j, i] of the original: k*12 + j*4 + i.
    assert_eq!(tt.get(&[3, 1, 1]).unwrap(), 12 + 4 + 3);
    let p = t.permute(&[1, 2, 0]).unwrap();
    assert_eq!(p.shape().dims(), &[3, 4, 2]);
    assert_eq!(&collect(&p)[..6], &[0, 12, 1, 13, 2, 14]);
    let s = t.slice(2, 1, 2).unwrap().slice(1, 2, 1).unwrap();
    assert_eq!(s.shape().dims(), &[2, 1, 2]);
    assert_eq!(collect(&s), vec![9, 10, 21, 22]);
    assert!(s.as_slice().is_none());
    let mut out = [0; 4];
    s.copy_to(&mut out).unwrap();
    assert_eq!(out, [9, 10, 21, 22]);
    // A slice along the first axis stays contiguous and can be borrowed as a slice.
    assert_eq!(t.slice(0, 1, 1).unwrap().as_slice().unwrap()[0], 12);
}

#[test]
fn broadcast_repeats_without_copying() {
    let row = [1.0f32, 2.0, 3.0];
    let v = TensorView::new(&row, shape(&[3])).unwrap();
    let b = v.broadcast_to(shape(&[2, 3])).unwrap();
    assert_eq!(b.layout().strides(), &[0, 1]);
    assert_eq!(
        b.iter().collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    );
    let col = [5.0f32, 6.0];
    let c = TensorView::new(&col, shape(&[2, 1])).unwrap();
    let cb = c.broadcast_to(shape(&[2, 2])).unwrap();
    assert_eq!(cb.iter().collect::<Vec<_>>(), vec![5.0, 5.0, 6.0, 6.0]);
    assert!(matches!(
        v.broadcast_to(shape(&[2, 4])),
        Err(Error::BroadcastMismatch { .. })
    ));
}

#[test]
fn reshape_needs_contiguous_data_and_same_count() {
    let data: Vec<i32> = (0..6).collect();
    let t = TensorView::new(&data, shape(&[2, 3])).unwrap();
    assert_eq!(t.reshape(shape(&[3, 2])).unwrap().get(&[2, 1]).unwrap(), 5);
    assert!(matches!(
        t.reshape(shape(&[4, 2])),
        Err(Error::ShapeMismatch { op: "reshape", .. })
    ));
    assert_eq!(
        t.transpose(0, 1).unwrap().reshape(shape(&[6])).unwrap_err(),
        Error::NotContiguous { op: "reshape" }
    );
}

#[test]
fn concat_along_each_axis() {
    let a: Vec<i32> = (0..4).collect(); // [[0,1],[2,3]]
    let b: Vec<i32> = (10..12).collect(); // [[10],[11]]
    let va = TensorView::new(&a, shape(&[2, 2])).unwrap();
    let vb = TensorView::new(&b, shape(&[2, 1])).unwrap();
    let mut out = [0i32; 6];
    let mut vo = TensorViewMut::new(&mut out, shape(&[2, 3])).unwrap();
    concat(&[va, vb], 1, &mut vo).unwrap();
    assert_eq!(out, [0, 1, 10, 2, 3, 11]);

    let vc = TensorView::new(&b, shape(&[1, 2])).unwrap();
    let mut out2 = [0i32; 6];
    let mut vo2 = TensorViewMut::new(&mut out2, shape(&[3, 2])).unwrap();
    concat(&[va, vc], 0, &mut vo2).unwrap();
    assert_eq!(out2, [0, 1, 2, 3, 10, 11]);

    let mut vo3 = TensorViewMut::new(&mut out2, shape(&[3, 2])).unwrap();
    assert!(matches!(
        concat(&[va, vb], 0, &mut vo3),
        Err(Error::ShapeMismatch { op: "concat", .. })
    ));
    assert!(matches!(
        concat(&[va], 0, &mut vo3),
        Err(Error::DimMismatch { op: "concat", .. })
    ));
    assert!(matches!(
        concat(&[va], 2, &mut vo3),
        Err(Error::AxisOutOfRange { op: "concat", .. })
    ));
}

#[test]
fn bad_views_are_rejected() {
    let data = [0u8; 5];
    assert!(matches!(
        TensorView::new(&data, shape(&[2, 3])),
        Err(Error::DimMismatch { .. })
    ));
    let layout = Layout::from_parts(shape(&[2, 3]), &[3, 1], 0).unwrap();
    assert_eq!(
        TensorView::with_layout(&data, layout).unwrap_err(),
        Error::BufferTooSmall {
            op: "tensor view",
            what: "tensor data",
            needed: 6,
            len: 5
        }
    );
    let t = TensorView::new(&data[..4], shape(&[2, 2])).unwrap();
    assert!(matches!(t.get(&[2, 0]), Err(Error::IndexOutOfRange { .. })));
    assert!(matches!(t.get(&[0]), Err(Error::DimMismatch { .. })));
    assert!(matches!(
        t.permute(&[0, 0]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        t.slice(1, 1, 2),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        Tensor::<f32>::zeros(&[1; 7]),
        Err(Error::RankTooLarge { rank: 7, .. })
    ));
    assert!(matches!(
        Tensor::from_vec(vec![1.0f32; 3], &[2, 2]),
        Err(Error::DimMismatch { .. })
    ));
}

#[test]
fn writable_views_assign_with_broadcast() {
    let mut data = [0.0f32; 6];
    let mut v = TensorViewMut::new(&mut data, shape(&[2, 3])).unwrap();
    let row = [1.0f32, 2.0, 3.0];
    v.assign(&TensorView::new(&row, shape(&[3])).unwrap())
        .unwrap();
    v.slice_mut(0, 1, 1).unwrap().fill(9.0);
    v.set(&[0, 0], -1.0).unwrap();
    assert_eq!(data, [-1.0, 2.0, 3.0, 9.0, 9.0, 9.0]);
}

#[test]
fn owned_tensor_basics() {
    let t = Tensor::from_vec((0..6).map(|x| x as f32).collect(), &[2, 3]).unwrap();
    let p = t.permute(&[1, 0]).unwrap();
    assert_eq!(p.dims(), &[3, 2]);
    assert_eq!(p.data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let r = p.reshape(&[6]).unwrap();
    assert_eq!(r.get(&[5]).unwrap(), 5.0);
    assert!(matches!(r.reshape(&[4]), Err(Error::ShapeMismatch { .. })));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(1usize..5, 1..=6).prop_flat_map(|dims| {
            let n = dims.len();
            (Just(dims), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
    }

    /// Row-major coordinates of flat index `i` in `dims`.
    fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
        let mut idx = vec![0; dims.len()];
        for a in (0..dims.len()).rev() {
            idx[a] = i % dims[a];
            i /= dims[a];
        }
        idx
    }

    proptest! {
        #[test]
        fn permuted_view_reads_permuted_coordinates((dims, perm) in shape_and_perm()) {
            let n: usize = dims.iter().product();
            let data: Vec<i32> = (0..n as i32).collect();
            let t = TensorView::new(&data, Shape::new(&dims).unwrap()).unwrap();
            let p = t.permute(&perm).unwrap();
            let pdims = p.shape().dims().to_vec();
            for (flat, v) in p.iter().enumerate() {
                let pidx = unravel(flat, &pdims);
                let mut orig = vec![0; dims.len()];
                for (i, &a) in perm.iter().enumerate() {
                    orig[a] = pidx[i];
                }
                prop_assert_eq!(v, t.get(&orig).unwrap());
            }
            // Copying out and reading back as a contiguous tensor gives the same elements.
            let owned = Tensor::from_view(&p).unwrap();
            prop_assert_eq!(owned.data().to_vec(), p.iter().collect::<Vec<_>>());
        }

        #[test]
        fn slice_then_broadcast_matches_index_arithmetic(
            dims in prop::collection::vec(1usize..5, 1..=4),
            start_frac in 0.0f64..1.0,
        ) {
            let n: usize = dims.iter().product();
            let data: Vec<i32> = (0..n as i32).collect();
            let t = TensorView::new(&data, Shape::new(&dims).unwrap()).unwrap();
            let axis = dims.len() - 1;
            let start = ((dims[axis] as f64) * start_frac) as usize;
            let s = t.slice(axis, start, 1).unwrap();
            let b = s.broadcast_to(Shape::new(&dims).unwrap()).unwrap();
            for (flat, v) in b.iter().enumerate() {
                let mut idx = unravel(flat, &dims);
                idx[axis] = start;
                prop_assert_eq!(v, t.get(&idx).unwrap());
            }
        }
    }
}
