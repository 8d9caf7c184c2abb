//! SVG charts (plotters, SVG backend: text stays text, no fonts needed).

use plotters::prelude::*;

use crate::figures::Point;
use crate::strategies::{Strategy, StrategyRun};

const W: u32 = 900;
const H: u32 = 300;
const VM: RGBColor = RGBColor(140, 180, 226);
const ACI: RGBColor = RGBColor(250, 180, 100);
const DEMAND: RGBColor = RGBColor(20, 20, 20);

pub fn color(s: Strategy) -> RGBColor {
    match s {
        Strategy::Spillway => RGBColor(214, 39, 40),
        Strategy::VmOnly => RGBColor(31, 119, 180),
        Strategy::VirtualNode => RGBColor(255, 127, 14),
        Strategy::StaticPeak => RGBColor(44, 160, 44),
        Strategy::Oracle => RGBColor(120, 120, 120),
        Strategy::SpillwayStandby => RGBColor(148, 103, 189),
    }
}

/// Hours on the x axis when the run is long, minutes otherwise.
fn x_scale(points: &[Point]) -> (f64, &'static str) {
    let end = points.last().map(|p| p.t).unwrap_or(0.0);
    if end > 3.0 * 3600.0 {
        (3600.0, "hours")
    } else {
        (60.0, "minutes")
    }
}

fn max_of(points: impl Iterator<Item = f64>) -> f64 {
    let m = points.fold(0.0, f64::max);
    if m > 0.0 { m * 1.08 } else { 1.0 }
}

/// Axis numbers without needless decimals: 12k, 2.5, 0.25.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Demand against served capacity, stacked VM then ACI, for one strategy.
pub fn capacity(run: &StrategyRun, unit: &str) -> Result<String, String> {
    let pts = &run.series;
    let (div, xl) = x_scale(pts);
    let x_end = pts.last().map(|p| p.t / div).unwrap_or(1.0).max(1e-9);
    let y_max = max_of(pts.iter().map(|p| p.demand.max(p.capacity_vm + p.capacity_aci)));
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: demand vs. served capacity", run.strategy.name()),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_end, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .y_desc(unit)
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(AreaSeries::new(
                pts.iter().map(|p| (p.t / div, p.capacity_vm + p.capacity_aci)),
                0.0,
                ACI,
            ))
            .map_err(err)?
            .label("ACI capacity")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ACI.filled()));
        chart
            .draw_series(AreaSeries::new(
                pts.iter().map(|p| (p.t / div, p.capacity_vm)),
                0.0,
                VM,
            ))
            .map_err(err)?
            .label("VM capacity")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], VM.filled()));
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.t / div, p.demand)),
                DEMAND.stroke_width(1),
            ))
            .map_err(err)?
            .label("demand")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], DEMAND));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// One line per strategy of `value(point)`.
pub fn lines(
    runs: &[StrategyRun],
    title: &str,
    y_desc: &str,
    value: fn(&Point) -> f64,
) -> Result<String, String> {
    let with_series: Vec<&StrategyRun> = runs.iter().filter(|r| !r.series.is_empty()).collect();
    let Some(first) = with_series.first() else {
        return Ok(String::new());
    };
    let (div, xl) = x_scale(&first.series);
    let x_end = first.series.last().map(|p| p.t / div).unwrap_or(1.0).max(1e-9);
    let y_max = max_of(with_series.iter().flat_map(|r| r.series.iter().map(value)));
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_end, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .y_desc(y_desc)
            .light_line_style(WHITE.mix(0.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(err)?;
        for r in &with_series {
            let c = color(r.strategy);
            chart
                .draw_series(LineSeries::new(
                    r.series.iter().map(|p| (p.t / div, value(p))),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(r.strategy.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}
