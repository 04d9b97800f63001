//! Typed access to a node's attributes, with ONNX's defaults and clear errors.

use super::error::{OnnxError, Result};
use super::proto::{attribute_proto::AttributeType, AttributeProto, NodeProto};
use super::tensor::{self, Const};

/// The attributes of one node.
pub struct Attrs<'a> {
    node: &'a NodeProto,
    display: String,
}

impl<'a> Attrs<'a> {
    /// The attributes of `node`, called `display` in errors (its name, or `#k`).
    pub fn new(node: &'a NodeProto, display: String) -> Attrs<'a> {
        Attrs { node, display }
    }

    fn err(&self, name: &str, what: &str) -> OnnxError {
        OnnxError::Node {
            node: self.display.clone(),
            op_type: self.node.op_type().to_string(),
            what: format!("attribute `{name}`: {what}"),
        }
    }

    /// The attribute called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name() == name)
    }

    /// Whether attribute `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn typed(&self, name: &str, t: AttributeType) -> Result<Option<&'a AttributeProto>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) if a.r#type() == t || a.r#type() == AttributeType::Undefined => Ok(Some(a)),
            Some(a) => Err(self.err(
                name,
                &format!(
                    "is {}, expected {}",
                    a.r#type().as_str_name(),
                    t.as_str_name()
                ),
            )),
        }
    }

    /// Integer attribute `name`, `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self
            .typed(name, AttributeType::Int)?
            .map_or(default, |a| a.i()))
    }

    /// Integer attribute `name`, `None` when absent.
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.typed(name, AttributeType::Int)?.map(|a| a.i()))
    }

    /// Float attribute `name`, `default` when absent.
    pub fn float(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self
            .typed(name, AttributeType::Float)?
            .map_or(default, |a| a.f()))
    }

    /// Integer-list attribute `name`, `None` when absent.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        Ok(self
            .typed(name, AttributeType::Ints)?
            .map(|a| a.ints.clone()))
    }

    /// Float-list attribute `name`, `None` when absent.
    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        Ok(self
            .typed(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    /// String attribute `name`, `default` when absent.
    pub fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.typed(name, AttributeType::String)? {
            None => Ok(default.to_string()),
            Some(a) => {
                String::from_utf8(a.s().to_vec()).map_err(|_| self.err(name, "is not UTF-8"))
            }
        }
    }

    /// Tensor attribute `name`, decoded, `None` when absent.
    pub fn tensor(&self, name: &str) -> Result<Option<Const>> {
        match self.typed(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => {
                let t =
                    a.t.as_ref()
                        .ok_or_else(|| self.err(name, "holds no tensor"))?;
                Ok(Some(tensor::from_proto(t, None)?))
            }
        }
    }
}
