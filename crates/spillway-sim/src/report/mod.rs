//! The self-contained HTML report with SVG charts.

mod charts;
mod html;

pub use html::render;
