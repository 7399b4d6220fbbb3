//! Real-valued tensors for the importer: initializers, constant folding, calibration and the f64
//! reference of the original float graph. Data movement, matmul and reductions are
//! [`atlas_ir::structural`], the one definition the IR evaluator and the compiler's reference
//! also use; the element type handed to it is irrelevant for these ops.

use atlas_ir::{ElemType, Op, ReduceKind, TensorType};

/// What an ONNX tensor holds; the values are f64 in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Bool,
}

/// A dense row-major tensor of reals.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub kind: Kind,
}

/// Any element type: [`atlas_ir::structural`] does not look at it.
const ANY: ElemType = ElemType::Int { bits: 32 };

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f64>, kind: Kind) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data, kind }
    }

    pub fn scalar(v: f64, kind: Kind) -> Self {
        Tensor { shape: Vec::new(), data: vec![v], kind }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The single value of a one-element tensor.
    pub fn as_scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }

    /// The largest magnitude (0 for an empty tensor); NaN is ignored.
    pub fn max_abs(&self) -> f64 {
        self.data.iter().filter(|x| !x.is_nan()).fold(0.0, |m, x| m.max(x.abs()))
    }

    pub fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        Tensor::new(self.shape.clone(), self.data.iter().map(|&x| f(x)).collect(), self.kind)
    }

    fn ty(&self) -> TensorType {
        TensorType::new(ANY, self.shape.clone())
    }

    /// Applies a structural op with result shape `out` (the caller checked the shapes).
    fn structural(
        op: &Op,
        args: &[&Tensor],
        out: Vec<usize>,
        kind: Kind,
    ) -> Result<Tensor, String> {
        let tys: Vec<TensorType> = args.iter().map(|t| t.ty()).collect();
        let ins: Vec<(&[f64], &TensorType)> =
            args.iter().zip(&tys).map(|(t, ty)| (t.data.as_slice(), ty)).collect();
        let out_ty = TensorType::new(ANY, out.clone());
        match atlas_ir::structural(op, &ins, &out_ty) {
            Some(Ok(data)) => Ok(Tensor::new(out, data, kind)),
            Some(Err(e)) => Err(format!("index {} out of range 0..{}", e.index, e.dim)),
            None => Err(format!("`{}` is not a structural op", op.name())),
        }
    }

    pub fn reshape(&self, shape: Vec<usize>) -> Result<Tensor, String> {
        if count(&shape)? != self.len() {
            return Err(format!("cannot reshape {:?} to {shape:?}", self.shape));
        }
        Ok(Tensor { shape, data: self.data.clone(), kind: self.kind })
    }

    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor, String> {
        if self.shape == shape {
            return Ok(self.clone());
        }
        count(shape)?;
        if broadcast_shape(&self.shape, shape)? != shape {
            return Err(format!("cannot broadcast {:?} to {shape:?}", self.shape));
        }
        Self::structural(
            &Op::Broadcast { shape: shape.to_vec() },
            &[self],
            shape.to_vec(),
            self.kind,
        )
    }

    pub fn transpose(&self, perm: &[usize]) -> Result<Tensor, String> {
        let mut sorted = perm.to_vec();
        sorted.sort_unstable();
        if sorted != (0..self.rank()).collect::<Vec<_>>() {
            return Err(format!("{perm:?} is not a permutation of {} axes", self.rank()));
        }
        let out = perm.iter().map(|&p| self.shape[p]).collect();
        Self::structural(&Op::Transpose { perm: perm.to_vec() }, &[self], out, self.kind)
    }

    pub fn slice(
        &self,
        axis: usize,
        start: usize,
        end: usize,
        step: usize,
    ) -> Result<Tensor, String> {
        let mut out = self.shape.clone();
        out[axis] = if end > start { (end - start).div_ceil(step) } else { 0 };
        Self::structural(&Op::Slice { axis, start, end, step }, &[self], out, self.kind)
    }

    pub fn concat(parts: &[&Tensor], axis: usize) -> Result<Tensor, String> {
        let first = parts.first().ok_or("concat of nothing")?;
        let mut out = first.shape.clone();
        out[axis] = parts.iter().map(|t| t.shape[axis]).sum();
        Self::structural(&Op::Concat { axis }, parts, out, first.kind)
    }

    pub fn gather(&self, indices: &Tensor, axis: usize) -> Result<Tensor, String> {
        let dim = self.shape[axis] as f64;
        // ONNX allows negative indices (counted from the end).
        let idx = indices.map(|i| if i < 0.0 { i + dim } else { i });
        let out: Vec<usize> = self.shape[..axis]
            .iter()
            .chain(&idx.shape)
            .chain(&self.shape[axis + 1..])
            .copied()
            .collect();
        Self::structural(&Op::Gather { axis }, &[self, &idx], out, self.kind)
    }

    pub fn reduce(
        &self,
        kind: ReduceKind,
        axes: &[usize],
        keep_dims: bool,
    ) -> Result<Tensor, String> {
        let out: Vec<usize> = self
            .shape
            .iter()
            .enumerate()
            .filter_map(|(i, &d)| match (axes.contains(&i), keep_dims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let op = Op::Reduce { kind, axes: axes.to_vec(), keep_dims };
        Self::structural(&op, &[self], out, self.kind)
    }

    /// NumPy `matmul` for operands of rank ≥ 2 (batch dimensions broadcast) and rank 1.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor, String> {
        let a = if self.rank() == 1 { self.reshape(vec![1, self.len()])? } else { self.clone() };
        let b =
            if other.rank() == 1 { other.reshape(vec![other.len(), 1])? } else { other.clone() };
        let (ra, rb) = (a.rank(), b.rank());
        let (m, k, k2, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 2], b.shape[rb - 1]);
        if k != k2 {
            return Err(format!(
                "matmul of {:?} and {:?}: inner sizes differ",
                self.shape, other.shape
            ));
        }
        let batch = broadcast_shape(&a.shape[..ra - 2], &b.shape[..rb - 2])?;
        let a3 = a.broadcast_to(&[batch.clone(), vec![m, k]].concat())?;
        let b3 = b.broadcast_to(&[batch.clone(), vec![k, n]].concat())?;
        let mut out = batch;
        out.extend([m, n]);
        let mut r = Self::structural(&Op::MatMul, &[&a3, &b3], out.clone(), Kind::Float)?;
        if self.rank() == 1 {
            out.remove(out.len() - 2);
        }
        if other.rank() == 1 {
            out.pop();
        }
        r.shape = out;
        Ok(r)
    }

    /// `[n, c, h, w]` → `[n, oh·ow, c·kh·kw]` patches, zero padded.
    pub fn im2col(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    ) -> Result<Tensor, String> {
        let s = &self.shape;
        if s.len() != 4 || s[2] + 2 * pad[0] < kernel[0] || s[3] + 2 * pad[1] < kernel[1] {
            return Err(format!("im2col of {s:?} with kernel {kernel:?}"));
        }
        let oh = (s[2] + 2 * pad[0] - kernel[0]) / stride[0] + 1;
        let ow = (s[3] + 2 * pad[1] - kernel[1]) / stride[1] + 1;
        let out = vec![s[0], oh * ow, s[1] * kernel[0] * kernel[1]];
        Self::structural(&Op::Im2Col { kernel, stride, pad }, &[self], out, self.kind)
    }
}

/// Tensors larger than this are refused rather than allocated.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The element count of `shape`, refused when it overflows or exceeds [`MAX_ELEMENTS`].
pub fn count(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("shape {shape:?} exceeds {MAX_ELEMENTS} elements"))
}

/// NumPy broadcasting of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| if i + s.len() >= r { s[i + s.len() - r] } else { 1 };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// An elementwise function of several tensors, broadcast NumPy-style.
pub fn zip(args: &[&Tensor], kind: Kind, f: impl Fn(&[f64]) -> f64) -> Result<Tensor, String> {
    let mut shape = Vec::new();
    for t in args {
        shape = broadcast_shape(&shape, &t.shape)?;
    }
    let n = count(&shape)?;
    let full: Vec<Tensor> =
        args.iter().map(|t| t.broadcast_to(&shape)).collect::<Result<_, _>>()?;
    let mut vals = vec![0.0; args.len()];
    let data = (0..n)
        .map(|i| {
            for (v, t) in vals.iter_mut().zip(&full) {
                *v = t.data[i];
            }
            f(&vals)
        })
        .collect();
    Ok(Tensor::new(shape, data, kind))
}

/// Normalises an ONNX axis (negative counts from the end) for a tensor of rank `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if (-r..r).contains(&a) {
        Ok(if a < 0 { (a + r) as usize } else { a as usize })
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}
