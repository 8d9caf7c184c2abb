//! The serde visitors behind [`super`]: they stream through the body and
//! hand each series to a sink instead of building a tree.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Ctx, RawSeries, Sample, Sink, WARNINGS_KEPT, sample};
use crate::error::{SourceError, snippet};

#[derive(Default)]
pub(super) struct Envelope {
    pub(super) status: Option<String>,
    pub(super) error_type: Option<String>,
    pub(super) error: Option<String>,
    pub(super) warnings: Vec<String>,
    pub(super) data: Option<DataInfo>,
}

#[derive(Default)]
pub(super) struct DataInfo {
    pub(super) result_type: Option<String>,
    pub(super) shape: Option<Shape>,
}

/// What `data.result` looked like: a list of series, or a `[ts, "v"]` pair.
pub(super) enum Shape {
    List,
    Pair(f64, String),
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum EnvelopeField {
    Status,
    Data,
    ErrorType,
    Error,
    Warnings,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DataField {
    ResultType,
    Result,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum SeriesField {
    Metric,
    Value,
    Values,
    Histogram,
    Histograms,
    #[serde(other)]
    Other,
}

pub(super) struct EnvelopeSeed<'c, S>(pub(super) &'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for EnvelopeSeed<'_, S> {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for EnvelopeSeed<'_, S> {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Prometheus API response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        while let Some(key) = map.next_key::<EnvelopeField>()? {
            match key {
                EnvelopeField::Status => env.status = Some(map.next_value()?),
                EnvelopeField::ErrorType => env.error_type = map.next_value()?,
                EnvelopeField::Error => env.error = map.next_value()?,
                EnvelopeField::Warnings => env.warnings = map.next_value_seed(WarningsSeed)?,
                EnvelopeField::Data => {
                    if env.data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    env.data = map.next_value_seed(DataSeed(&mut *self.0))?;
                }
                EnvelopeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

/// Keeps the first few warnings (each cut short) and counts the rest.
struct WarningsSeed;

impl<'de> DeserializeSeed<'de> for WarningsSeed {
    type Value = Vec<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WarningsSeed {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of warning strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut kept = Vec::new();
        let mut more = 0usize;
        while kept.len() < WARNINGS_KEPT {
            match seq.next_element::<String>()? {
                Some(w) => kept.push(snippet(&w, 200)),
                None => return Ok(kept),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            more += 1;
        }
        if more > 0 {
            kept.push(format!("(and {more} more)"));
        }
        Ok(kept)
    }
}

struct DataSeed<'c, S>(&'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for DataSeed<'_, S> {
    type Value = Option<DataInfo>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<DataInfo>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for DataSeed<'_, S> {
    type Value = Option<DataInfo>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `data` object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<DataInfo>, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<DataInfo>, A::Error> {
        let mut info = DataInfo::default();
        while let Some(key) = map.next_key::<DataField>()? {
            match key {
                DataField::ResultType => info.result_type = Some(map.next_value()?),
                DataField::Result => {
                    if info.shape.is_some() {
                        return Err(de::Error::duplicate_field("result"));
                    }
                    info.shape = Some(map.next_value_seed(ResultSeed(&mut *self.0))?);
                }
                DataField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(info))
    }
}

/// `data.result`: either `[ts, "v"]` (scalar, string) or a list of series
/// objects (vector, matrix), told apart by the first element.
struct ResultSeed<'c, S>(&'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for ResultSeed<'_, S> {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_seq(self)
    }
}

enum Element {
    Series,
    Number(f64),
    Text(String),
}

impl<'de, S: Sink> Visitor<'de> for ResultSeed<'_, S> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `result` array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let ctx = self.0;
        let Some(first) = seq.next_element_seed(ElementSeed(&mut *ctx))? else {
            return Ok(Shape::List);
        };
        match first {
            Element::Series => {
                while seq.next_element_seed(SeriesSeed(&mut *ctx))?.is_some() {}
                Ok(Shape::List)
            }
            Element::Number(ts) => {
                let raw = seq
                    .next_element::<String>()?
                    .ok_or_else(|| de::Error::invalid_length(1, &"a [timestamp, \"value\"] pair"))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &"a [timestamp, \"value\"] pair"));
                }
                Ok(Shape::Pair(ts, raw))
            }
            Element::Text(t) => Err(de::Error::custom(format!(
                "`result` starts with the string {t:?}"
            ))),
        }
    }
}

struct ElementSeed<'c, S>(&'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for ElementSeed<'_, S> {
    type Value = Element;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for ElementSeed<'_, S> {
    type Value = Element;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series object or a timestamp")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
        Ok(Element::Number(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        Ok(Element::Number(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        Ok(Element::Number(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
        Ok(Element::Text(snippet(v, 40)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
        SeriesSeed(self.0).visit_map(map)?;
        Ok(Element::Series)
    }
}

/// One series object, handed to the sink once read.
struct SeriesSeed<'c, S>(&'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for SeriesSeed<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for SeriesSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series object {\"metric\": ..., \"value\"|\"values\": ...}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut s = RawSeries::default();
        while let Some(key) = map.next_key::<SeriesField>()? {
            match key {
                SeriesField::Metric => {
                    if ctx.sink.wants_labels() {
                        s.labels = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                SeriesField::Value => {
                    let (ts, raw) = map.next_value::<(f64, String)>()?;
                    match sample(ts, &raw) {
                        Ok(v) => s.value = Some(v),
                        Err(e) => return Err(ctx.fail(e)),
                    }
                }
                SeriesField::Values => {
                    let (kept, seen) = map.next_value_seed(ValuesSeed(&mut *ctx))?;
                    s.values = kept;
                    s.values_seen = seen;
                }
                SeriesField::Histogram | SeriesField::Histograms => {
                    map.next_value::<IgnoredAny>()?;
                    s.histogram = true;
                }
                SeriesField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Err(e) = ctx.sink.series(s) {
            return Err(ctx.fail(e));
        }
        Ok(())
    }
}

/// A series' `values`: kept within the sink's point budget, or only counted.
struct ValuesSeed<'c, S>(&'c mut Ctx<S>);

impl<'de, S: Sink> DeserializeSeed<'de> for ValuesSeed<'_, S> {
    type Value = (Vec<Sample>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for ValuesSeed<'_, S> {
    type Value = (Vec<Sample>, usize);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of [timestamp, \"value\"] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let budget = ctx.sink.point_budget();
        let mut kept = Vec::new();
        let mut seen = 0usize;
        while let Some((ts, raw)) = seq.next_element::<(f64, String)>()? {
            seen += 1;
            let Some(budget) = budget else { continue };
            if seen > budget {
                let limit = ctx.sink.max_points();
                return Err(ctx.fail(SourceError::TooManyPoints { limit }));
            }
            match sample(ts, &raw) {
                Ok(v) => kept.push(v),
                Err(e) => return Err(ctx.fail(e)),
            }
        }
        Ok((kept, seen))
    }
}
