//! An ONNX file decoded into Atlas's view of it: inputs with static shapes, initializers as f64
//! tensors, nodes in file order with their attributes. Everything that can be wrong with the file
//! is found here, with the place named: a malformed message, a missing graph, an opset outside
//! 7–21, a node from another domain, dynamic dimensions, tensor data that does not match its
//! dims, external data that cannot be read, a node that reads a name nothing defines.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use prost::Message;

use super::proto::{self, attribute_type, data_type, TensorProto};
use super::tensor::{Kind, Tensor};

/// The opsets the importer reads (default domain).
pub const OPSETS: std::ops::RangeInclusive<i64> = 7..=21;

use super::tensor::{count, MAX_ELEMENTS};
use crate::front::f16_to_f64;

/// A node attribute.
#[derive(Clone, Debug)]
pub enum Attr {
    Float(f32),
    Int(i64),
    Str(String),
    Tensor(Tensor),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    /// A type the importer does not read (graphs, strings lists, sparse tensors): named in errors.
    Other(i32),
}

/// One node. `inputs` keeps ONNX's empty strings for omitted optional inputs.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(String, Attr)>,
}

/// A graph input that is not an initializer.
#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: Kind,
}

/// A decoded model.
///
/// Invariant: every node input is empty, a graph input, an initializer or an output of an earlier
/// node (nodes are in topological order), and every graph output is defined.
#[derive(Clone, Debug)]
pub struct Graph {
    pub name: String,
    pub opset: i64,
    pub inputs: Vec<Input>,
    pub outputs: Vec<String>,
    pub initializers: HashMap<String, Tensor>,
    pub nodes: Vec<Node>,
}

impl Node {
    /// `node "fc1/Gemm" (Gemm)`, for errors.
    pub fn describe(&self) -> String {
        format!("node `{}` ({})", self.name, self.op_type)
    }

    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    pub fn int(&self, name: &str, default: i64) -> Result<i64, String> {
        match self.attr(name) {
            None => Ok(default),
            Some(Attr::Int(i)) => Ok(*i),
            Some(_) => Err(format!("expected attribute `{name}` to be an integer")),
        }
    }

    pub fn float(&self, name: &str, default: f32) -> Result<f32, String> {
        match self.attr(name) {
            None => Ok(default),
            Some(Attr::Float(f)) => Ok(*f),
            Some(_) => Err(format!("expected attribute `{name}` to be a float")),
        }
    }

    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, String> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Ints(v)) => Ok(Some(v.clone())),
            Some(_) => Err(format!("expected attribute `{name}` to be a list of integers")),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<&str>, String> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Str(s)) => Ok(Some(s)),
            Some(_) => Err(format!("expected attribute `{name}` to be a string")),
        }
    }
}

/// Reads and decodes the ONNX file at `path` (external data relative to its directory).
pub fn read(path: &Path) -> Result<Graph, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    decode(&bytes, path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Decodes an ONNX model; `base_dir` is where external tensor data is looked up.
pub fn decode(bytes: &[u8], base_dir: &Path) -> Result<Graph, String> {
    let model = proto::ModelProto::decode(bytes)
        .map_err(|e| format!("not a valid ONNX model (protobuf: {e})"))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or("the model imports no opset of the default ONNX domain")?;
    if !OPSETS.contains(&opset) {
        return Err(format!(
            "expected opset {}–{} of the default domain, found opset {opset}",
            OPSETS.start(),
            OPSETS.end()
        ));
    }
    let g = model.graph.ok_or("the model has no graph")?;
    if !g.sparse_initializer.is_empty() {
        return Err("sparse initializers are not supported".into());
    }
    let mut initializers = HashMap::new();
    for t in &g.initializer {
        let tensor =
            tensor_from_proto(t, base_dir).map_err(|e| format!("initializer `{}`: {e}", t.name))?;
        initializers.insert(t.name.clone(), tensor);
    }
    let mut inputs = Vec::new();
    for vi in &g.input {
        if initializers.contains_key(&vi.name) {
            continue; // older exporters list initializers as inputs too
        }
        inputs.push(input_from_proto(vi).map_err(|e| format!("graph input `{}`: {e}", vi.name))?);
    }
    let mut nodes = Vec::new();
    let mut defined: HashSet<String> =
        inputs.iter().map(|i| i.name.clone()).chain(initializers.keys().cloned()).collect();
    for (k, n) in g.node.iter().enumerate() {
        let name = if n.name.is_empty() { format!("#{k}") } else { n.name.clone() };
        let node = Node {
            name,
            op_type: n.op_type.clone(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            attrs: Vec::new(),
        };
        if !(n.domain.is_empty() || n.domain == "ai.onnx") {
            return Err(format!(
                "{}: domain `{}` is not supported (only the default ONNX domain is)",
                node.describe(),
                n.domain
            ));
        }
        let mut attrs = Vec::new();
        for a in &n.attribute {
            let v = attr_from_proto(a, base_dir)
                .map_err(|e| format!("{}: attribute `{}`: {e}", node.describe(), a.name))?;
            attrs.push((a.name.clone(), v));
        }
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            if !defined.contains(i) {
                return Err(format!(
                    "{} reads `{i}`, which no graph input, initializer or earlier node defines",
                    node.describe()
                ));
            }
        }
        defined.extend(n.output.iter().filter(|o| !o.is_empty()).cloned());
        nodes.push(Node { attrs, ..node });
    }
    let outputs: Vec<String> = g.output.iter().map(|o| o.name.clone()).collect();
    if outputs.is_empty() {
        return Err("the graph has no outputs".into());
    }
    for o in &outputs {
        if !defined.contains(o) {
            return Err(format!("graph output `{o}` is not defined by any node"));
        }
    }
    let name = if g.name.is_empty() { "model".to_string() } else { g.name };
    Ok(Graph { name, opset, inputs, outputs, initializers, nodes })
}

fn input_from_proto(vi: &proto::ValueInfoProto) -> Result<Input, String> {
    let tt =
        vi.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).ok_or("expected a tensor type")?;
    let kind = kind_of(tt.elem_type)?;
    let dims = tt.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or(&[]);
    let mut shape = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        match (d.dim_value, &d.dim_param) {
            (Some(v), _) if v > 0 => shape.push(v as usize),
            (_, Some(p)) if !p.is_empty() => {
                return Err(format!(
                    "dimension {i} is the symbol `{p}`; Atlas proves static shapes (export with a fixed size)"
                ))
            }
            _ => return Err(format!("dimension {i} has no size")),
        }
    }
    count(&shape)?;
    Ok(Input { name: vi.name.clone(), shape, kind })
}

fn kind_of(t: i32) -> Result<Kind, String> {
    use data_type::*;
    match t {
        FLOAT | DOUBLE | FLOAT16 | BFLOAT16 => Ok(Kind::Float),
        UINT8 | INT8 | UINT16 | INT16 | INT32 | INT64 | UINT32 | UINT64 => Ok(Kind::Int),
        BOOL => Ok(Kind::Bool),
        other => Err(format!("element type {} is not supported", data_type::name(other))),
    }
}

fn attr_from_proto(a: &proto::AttributeProto, base_dir: &Path) -> Result<Attr, String> {
    if !a.ref_attr_name.is_empty() {
        return Err("attribute references (functions) are not supported".into());
    }
    Ok(match a.r#type {
        attribute_type::FLOAT => Attr::Float(a.f),
        attribute_type::INT => Attr::Int(a.i),
        attribute_type::STRING => Attr::Str(String::from_utf8_lossy(&a.s).into_owned()),
        attribute_type::TENSOR => {
            Attr::Tensor(tensor_from_proto(a.t.as_ref().ok_or("tensor missing")?, base_dir)?)
        }
        attribute_type::FLOATS => Attr::Floats(a.floats.clone()),
        attribute_type::INTS => Attr::Ints(a.ints.clone()),
        other => Attr::Other(other),
    })
}

/// The elements of `t` as f64, from whichever field holds them.
pub fn tensor_from_proto(t: &TensorProto, base_dir: &Path) -> Result<Tensor, String> {
    let kind = kind_of(t.data_type)?;
    let mut shape = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        shape.push(usize::try_from(d).map_err(|_| format!("negative dimension {d}"))?);
    }
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("dims {shape:?} exceed {MAX_ELEMENTS} elements"))?;
    let external;
    let raw: &[u8] = if t.data_location == 1 {
        external = read_external(t, base_dir)?;
        &external
    } else {
        &t.raw_data
    };
    let data: Vec<f64> = if !raw.is_empty() || t.data_location == 1 {
        decode_raw(raw, t.data_type, n)?
    } else {
        use data_type::*;
        match t.data_type {
            FLOAT => t.float_data.iter().map(|&x| f64::from(x)).collect(),
            DOUBLE => t.double_data.clone(),
            INT64 => t.int64_data.iter().map(|&x| x as f64).collect(),
            UINT32 | UINT64 => t.uint64_data.iter().map(|&x| x as f64).collect(),
            FLOAT16 => t.int32_data.iter().map(|&x| f16_to_f64(x as u16)).collect(),
            BFLOAT16 => t.int32_data.iter().map(|&x| bf16_to_f64(x as u16)).collect(),
            _ => t.int32_data.iter().map(|&x| f64::from(x)).collect(),
        }
    };
    if data.len() != n {
        return Err(format!("expected {n} elements for dims {shape:?}, found {}", data.len()));
    }
    Ok(Tensor { shape, data, kind })
}

fn decode_raw(raw: &[u8], t: i32, n: usize) -> Result<Vec<f64>, String> {
    use data_type::*;
    let width = match t {
        UINT8 | INT8 | BOOL => 1,
        UINT16 | INT16 | FLOAT16 | BFLOAT16 => 2,
        FLOAT | INT32 | UINT32 => 4,
        INT64 | DOUBLE | UINT64 => 8,
        other => return Err(format!("element type {} is not supported", data_type::name(other))),
    };
    if raw.len() != n * width {
        return Err(format!(
            "expected {} bytes of raw data ({n} elements of {width} bytes), found {}",
            n * width,
            raw.len()
        ));
    }
    let chunks = raw.chunks_exact(width);
    let le = |c: &[u8]| {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(b)
    };
    Ok(chunks
        .map(|c| {
            let u = le(c);
            match t {
                FLOAT => f64::from(f32::from_bits(u as u32)),
                DOUBLE => f64::from_bits(u),
                FLOAT16 => f16_to_f64(u as u16),
                BFLOAT16 => bf16_to_f64(u as u16),
                INT8 => f64::from(u as u8 as i8),
                INT16 => f64::from(u as u16 as i16),
                INT32 => f64::from(u as u32 as i32),
                INT64 => u as i64 as f64,
                _ => u as f64,
            }
        })
        .collect())
}

fn bf16_to_f64(h: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(h) << 16))
}

/// External data: `location` relative to the model's directory, optional `offset` and `length`.
fn read_external(t: &TensorProto, base_dir: &Path) -> Result<Vec<u8>, String> {
    let get = |k: &str| t.external_data.iter().find(|e| e.key == k).map(|e| e.value.as_str());
    let location = get("location").ok_or("external data without a `location`")?;
    let rel = Path::new(location);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(format!(
            "external data location `{location}` must stay inside the model's directory"
        ));
    }
    let num = |k: &str| -> Result<Option<usize>, String> {
        get(k)
            .map(|v| v.parse::<usize>().map_err(|_| format!("bad external `{k}` `{v}`")))
            .transpose()
    };
    let path = base_dir.join(rel);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("cannot read external data `{}`: {e}", path.display()))?;
    let offset = num("offset")?.unwrap_or(0);
    let end = match num("length")? {
        Some(len) => offset.checked_add(len),
        None => Some(bytes.len()),
    };
    match end {
        Some(end) if offset <= end && end <= bytes.len() => Ok(bytes[offset..end].to_vec()),
        _ => Err(format!(
            "external data `{}` has {} bytes, the tensor asks for bytes {offset}..{}",
            path.display(),
            bytes.len(),
            end.map_or("overflow".to_string(), |e| e.to_string())
        )),
    }
}
