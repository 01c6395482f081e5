//! Signatures: a device's SVG is read through an allow-list into strokes of
//! points, and the hub writes the SVG it stores and serves itself.
//!
//! Invariant: no SVG a device wrote is ever stored or served. What a device
//! sends is parsed (no DTD, no entities but character references) and only
//! `<svg>`, `<g>`, `<path>`, `<polyline>`, `<line>` and `<circle>` with
//! geometry and stroke attributes pass; anything else is refused by name.
//! The strokes are bounded in count and in points, and [`render`] writes
//! them as paths of straight segments, in the hub's own ink and style.

use serde::{Deserialize, Serialize};

/// The largest SVG a device may send.
pub const MAX_SVG_BYTES: usize = 200 * 1024;
/// Strokes in one signature.
pub const MAX_STROKES: usize = 300;
/// Points in one signature, all strokes together, curves flattened.
pub const MAX_POINTS: usize = 5_000;
/// Elements in the submitted document.
const MAX_ELEMENTS: usize = 2_000;
/// Nesting of `<g>` inside `<svg>`.
const MAX_DEPTH: usize = 8;
/// Coordinates and sizes are within ±this.
const MAX_COORD: f32 = 100_000.0;
/// Each quadratic or cubic curve becomes this many straight segments.
const CURVE_SEGMENTS: usize = 4;
const INK: &str = "#1b1b1b";
const DEFAULT_WIDTH: f32 = 4.0;

/// A signature as the hub stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drawing {
    /// The canvas: `viewBox` origin and size.
    pub view: [f32; 4],
    pub strokes: Vec<Stroke>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub width: f32,
    pub points: Vec<[f32; 2]>,
}

impl Drawing {
    pub fn points(&self) -> usize {
        self.strokes.iter().map(|s| s.points.len()).sum()
    }

    /// An empty canvas the size of the app's pad.
    pub fn blank() -> Drawing {
        Drawing {
            view: [0.0, 0.0, 1000.0, 400.0],
            strokes: Vec::new(),
        }
    }
}

/// Why a submitted SVG was refused; the message names what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a signature is at most {} KiB", MAX_SVG_BYTES / 1024)]
    TooLarge,
    #[error("signatureSvg is not a plain SVG document: {0}")]
    Malformed(String),
    #[error("signatureSvg may contain drawing only: {0} is not allowed")]
    NotAllowed(String),
    #[error("signatureSvg has too many strokes or points (at most {MAX_STROKES} strokes and {MAX_POINTS} points)")]
    TooMuch,
    #[error("signatureSvg has no strokes")]
    Empty,
}

/// Reads a device's SVG through the allow-list.
pub fn parse(svg: &str) -> Result<Drawing, Refused> {
    if svg.len() > MAX_SVG_BYTES {
        return Err(Refused::TooLarge);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: (MAX_ELEMENTS * 4) as u32,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, options)
        .map_err(|e| Refused::Malformed(e.to_string()))?;
    let root = doc.root_element();
    check_element(&root, &["svg"])?;
    let mut reader = Reader {
        strokes: Vec::new(),
        points: 0,
        elements: 0,
    };
    let mut view = None;
    for attr in root.attributes() {
        match attr.name() {
            "viewBox" => view = Some(view_box(attr.value())?),
            "width" | "height" => {
                length(attr.value())?;
            }
            "version" | "preserveAspectRatio" => {}
            name if is_style(name) => {}
            name => return Err(Refused::NotAllowed(format!("the attribute {name}"))),
        }
    }
    let width = stroke_width(&root)?.unwrap_or(DEFAULT_WIDTH);
    reader.children(&root, width, 1)?;
    if reader.points == 0 {
        return Err(Refused::Empty);
    }
    let view = match view {
        Some(v) => v,
        None => bounds(&reader.strokes, &root)?,
    };
    Ok(Drawing {
        view,
        strokes: reader.strokes,
    })
}

/// The hub's own SVG of a drawing.
pub fn render(drawing: &Drawing) -> String {
    use std::fmt::Write;
    let [x, y, w, h] = drawing.view;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="{} {} {} {}" width="{}" height="{}"><g fill="none" stroke="{INK}" stroke-linecap="round" stroke-linejoin="round">"#,
        num(x),
        num(y),
        num(w),
        num(h),
        num(w),
        num(h)
    );
    for stroke in &drawing.strokes {
        let Some(first) = stroke.points.first() else {
            continue;
        };
        let _ = write!(out, r#"<path d="M{} {}"#, num(first[0]), num(first[1]));
        let rest = if stroke.points.len() == 1 {
            &stroke.points[..]
        } else {
            &stroke.points[1..]
        };
        for p in rest {
            let _ = write!(out, "L{} {}", num(p[0]), num(p[1]));
        }
        let _ = write!(out, r#"" stroke-width="{}"/>"#, num(stroke.width));
    }
    out.push_str("</g></svg>");
    out
}

/// A number with at most one decimal, as the pad draws them.
fn num(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_owned()
    } else {
        r.to_string()
    }
}

struct Reader {
    strokes: Vec<Stroke>,
    points: usize,
    elements: usize,
}

impl Reader {
    fn children(
        &mut self,
        parent: &roxmltree::Node,
        width: f32,
        depth: usize,
    ) -> Result<(), Refused> {
        for node in parent.children() {
            match node.node_type() {
                roxmltree::NodeType::Element => {}
                roxmltree::NodeType::Text => {
                    if node.text().is_some_and(|t| !t.trim().is_empty()) {
                        return Err(Refused::NotAllowed("text".to_owned()));
                    }
                    continue;
                }
                roxmltree::NodeType::Comment => continue,
                _ => return Err(Refused::NotAllowed("a processing instruction".to_owned())),
            }
            self.elements += 1;
            if self.elements > MAX_ELEMENTS {
                return Err(Refused::TooMuch);
            }
            check_element(&node, &["g", "path", "polyline", "line", "circle"])?;
            let width = stroke_width(&node)?.unwrap_or(width);
            match node.tag_name().name() {
                "g" => {
                    check_attributes(&node, &[])?;
                    if depth >= MAX_DEPTH {
                        return Err(Refused::NotAllowed("groups nested this deep".to_owned()));
                    }
                    self.children(&node, width, depth + 1)?;
                }
                "path" => {
                    check_attributes(&node, &["d"])?;
                    check_empty(&node)?;
                    for points in path_points(node.attribute("d").unwrap_or(""))? {
                        self.push(width, points)?;
                    }
                }
                "polyline" => {
                    check_attributes(&node, &["points"])?;
                    check_empty(&node)?;
                    let numbers = numbers(node.attribute("points").unwrap_or(""))?;
                    if numbers.len() % 2 != 0 {
                        return Err(Refused::Malformed("polyline points come in pairs".into()));
                    }
                    self.push(width, numbers.chunks(2).map(|p| [p[0], p[1]]).collect())?;
                }
                "line" => {
                    check_attributes(&node, &["x1", "y1", "x2", "y2"])?;
                    check_empty(&node)?;
                    let get = |n: &str| coordinate(node.attribute(n).unwrap_or("0"));
                    let points = vec![[get("x1")?, get("y1")?], [get("x2")?, get("y2")?]];
                    self.push(width, points)?;
                }
                _ => {
                    // circle: a dot as wide as the circle.
                    check_attributes(&node, &["cx", "cy", "r"])?;
                    check_empty(&node)?;
                    let get = |n: &str| coordinate(node.attribute(n).unwrap_or("0"));
                    let r = get("r")?.abs();
                    self.push((2.0 * r).max(0.5), vec![[get("cx")?, get("cy")?]])?;
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, width: f32, points: Vec<[f32; 2]>) -> Result<(), Refused> {
        if points.is_empty() {
            return Ok(());
        }
        self.points += points.len();
        if self.points > MAX_POINTS || self.strokes.len() >= MAX_STROKES {
            return Err(Refused::TooMuch);
        }
        self.strokes.push(Stroke {
            width: width.clamp(0.5, 50.0),
            points,
        });
        Ok(())
    }
}

fn check_element(node: &roxmltree::Node, allowed: &[&str]) -> Result<(), Refused> {
    let name = node.tag_name();
    let svg_ns = matches!(name.namespace(), None | Some("http://www.w3.org/2000/svg"));
    if svg_ns && allowed.contains(&name.name()) {
        Ok(())
    } else {
        Err(Refused::NotAllowed(format!("<{}>", name.name())))
    }
}

fn check_empty(node: &roxmltree::Node) -> Result<(), Refused> {
    match node.children().find(|c| c.is_element()) {
        Some(child) => Err(Refused::NotAllowed(format!(
            "<{}> inside <{}>",
            child.tag_name().name(),
            node.tag_name().name()
        ))),
        None => Ok(()),
    }
}

/// Stroke and fill attributes: the hub draws in its own ink, so their
/// values are never used, only their names allowed.
fn is_style(name: &str) -> bool {
    matches!(
        name,
        "fill"
            | "stroke"
            | "stroke-width"
            | "stroke-linecap"
            | "stroke-linejoin"
            | "stroke-opacity"
            | "stroke-miterlimit"
            | "fill-opacity"
            | "opacity"
    )
}

fn check_attributes(node: &roxmltree::Node, geometry: &[&str]) -> Result<(), Refused> {
    for attr in node.attributes() {
        // Namespaced attributes (xlink:href and the like) are never allowed.
        if attr.namespace().is_some() {
            return Err(Refused::NotAllowed(format!(
                "the attribute {}",
                attr.name()
            )));
        }
        let name = attr.name();
        if !(geometry.contains(&name) || is_style(name)) {
            return Err(Refused::NotAllowed(format!("the attribute {name}")));
        }
    }
    Ok(())
}

fn stroke_width(node: &roxmltree::Node) -> Result<Option<f32>, Refused> {
    node.attribute("stroke-width").map(length).transpose()
}

/// A length: a number, optionally in `px`.
fn length(value: &str) -> Result<f32, Refused> {
    let v = value.trim();
    coordinate(v.strip_suffix("px").unwrap_or(v))
}

fn coordinate(value: &str) -> Result<f32, Refused> {
    let v: f32 = value
        .trim()
        .parse()
        .map_err(|_| Refused::Malformed(format!("{value:?} is not a number")))?;
    if v.is_finite() && v.abs() <= MAX_COORD {
        Ok(v)
    } else {
        Err(Refused::Malformed(format!("{value:?} is out of range")))
    }
}

fn view_box(value: &str) -> Result<[f32; 4], Refused> {
    let n = numbers(value)?;
    match n[..] {
        [x, y, w, h] if w > 0.0 && h > 0.0 => Ok([x, y, w, h]),
        _ => Err(Refused::Malformed(
            "viewBox is four numbers with a positive size".into(),
        )),
    }
}

/// The canvas of a document without `viewBox`: its `width` and `height`, or
/// else the strokes' bounds.
fn bounds(strokes: &[Stroke], root: &roxmltree::Node) -> Result<[f32; 4], Refused> {
    if let (Some(w), Some(h)) = (root.attribute("width"), root.attribute("height")) {
        let (w, h) = (length(w)?, length(h)?);
        if w > 0.0 && h > 0.0 {
            return Ok([0.0, 0.0, w, h]);
        }
    }
    let all = strokes.iter().flat_map(|s| s.points.iter());
    let (mut max_x, mut max_y) = (1.0f32, 1.0f32);
    for p in all {
        max_x = max_x.max(p[0]);
        max_y = max_y.max(p[1]);
    }
    Ok([0.0, 0.0, max_x, max_y])
}

/// Numbers separated by whitespace and commas, SVG style (`1.5.5` is two).
fn numbers(text: &str) -> Result<Vec<f32>, Refused> {
    let mut lexer = Lexer {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        lexer.skip_separators();
        if lexer.i >= lexer.s.len() {
            return Ok(out);
        }
        out.push(lexer.number()?);
        if out.len() > MAX_POINTS * 2 {
            return Err(Refused::TooMuch);
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn skip_separators(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
        {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn number(&mut self) -> Result<f32, Refused> {
        let start = self.i;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.i += 1;
        }
        let mut digits = 0;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
            digits += 1;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
                digits += 1;
            }
        }
        if digits > 0 && matches!(self.peek(), Some(b'e' | b'E')) {
            let mark = self.i;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.i += 1;
                }
            } else {
                self.i = mark;
            }
        }
        if digits == 0 {
            return Err(Refused::Malformed(format!(
                "a number was expected at {:?}",
                String::from_utf8_lossy(&self.s[start..self.s.len().min(start + 12)])
            )));
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("x");
        coordinate(text)
    }
}

/// The strokes of a path's `d`: each moveto starts one. Lines and curves
/// only (M L H V Q C Z, absolute and relative); curves are flattened.
fn path_points(d: &str) -> Result<Vec<Vec<[f32; 2]>>, Refused> {
    let mut lexer = Lexer {
        s: d.as_bytes(),
        i: 0,
    };
    let mut strokes: Vec<Vec<[f32; 2]>> = Vec::new();
    let mut current: Vec<[f32; 2]> = Vec::new();
    let mut pen = [0.0f32, 0.0f32];
    let mut start = pen;
    let mut command: Option<u8> = None;
    let mut total = 0usize;
    loop {
        lexer.skip_separators();
        let Some(b) = lexer.peek() else { break };
        if b.is_ascii_alphabetic() {
            lexer.i += 1;
            if matches!(b, b'Z' | b'z') {
                current.push(start);
                pen = start;
                command = None;
                continue;
            }
            if !matches!(
                b.to_ascii_uppercase(),
                b'M' | b'L' | b'H' | b'V' | b'Q' | b'C'
            ) {
                return Err(Refused::NotAllowed(format!(
                    "the path command {}",
                    b as char
                )));
            }
            command = Some(b);
            if b.eq_ignore_ascii_case(&b'M') && !current.is_empty() {
                strokes.push(std::mem::take(&mut current));
            }
        }
        let Some(c) = command else {
            return Err(Refused::Malformed("path data starts with a command".into()));
        };
        let relative = c.is_ascii_lowercase();
        let base = if relative { pen } else { [0.0, 0.0] };
        let point = |lexer: &mut Lexer| -> Result<[f32; 2], Refused> {
            let x = lexer.number()?;
            lexer.skip_separators();
            let y = lexer.number()?;
            lexer.skip_separators();
            Ok([base[0] + x, base[1] + y])
        };
        match c.to_ascii_uppercase() {
            b'M' => {
                pen = point(&mut lexer)?;
                start = pen;
                current.push(pen);
                // Further pairs after a moveto are lines.
                command = Some(if relative { b'l' } else { b'L' });
            }
            b'L' => {
                pen = point(&mut lexer)?;
                current.push(pen);
            }
            b'H' => {
                let x = lexer.number()?;
                pen = [if relative { pen[0] + x } else { x }, pen[1]];
                current.push(pen);
            }
            b'V' => {
                let y = lexer.number()?;
                pen = [pen[0], if relative { pen[1] + y } else { y }];
                current.push(pen);
            }
            b'Q' => {
                let control = point(&mut lexer)?;
                let end = point(&mut lexer)?;
                for k in 1..=CURVE_SEGMENTS {
                    let t = k as f32 / CURVE_SEGMENTS as f32;
                    let u = 1.0 - t;
                    current.push([
                        u * u * pen[0] + 2.0 * u * t * control[0] + t * t * end[0],
                        u * u * pen[1] + 2.0 * u * t * control[1] + t * t * end[1],
                    ]);
                }
                pen = end;
            }
            _ => {
                let c1 = point(&mut lexer)?;
                let c2 = point(&mut lexer)?;
                let end = point(&mut lexer)?;
                for k in 1..=CURVE_SEGMENTS {
                    let t = k as f32 / CURVE_SEGMENTS as f32;
                    let u = 1.0 - t;
                    let (a, b2, c3, d4) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                    current.push([
                        a * pen[0] + b2 * c1[0] + c3 * c2[0] + d4 * end[0],
                        a * pen[1] + b2 * c1[1] + c3 * c2[1] + d4 * end[1],
                    ]);
                }
                pen = end;
            }
        }
        if current
            .iter()
            .chain([pen].iter())
            .any(|p| p[0].abs() > MAX_COORD || p[1].abs() > MAX_COORD)
        {
            return Err(Refused::Malformed("a point is out of range".into()));
        }
        total += 1;
        if total > MAX_POINTS * CURVE_SEGMENTS {
            return Err(Refused::TooMuch);
        }
    }
    if !current.is_empty() {
        strokes.push(current);
    }
    Ok(strokes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAD: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 400" width="1000" height="400"><g fill="none" stroke="#1b1b1b" stroke-linecap="round" stroke-linejoin="round"><path d="M10 20Q30 40 50 60L70 80" stroke-width="4.5"/><path d="M5 5L5 5" stroke-width="4"/></g></svg>"##;

    #[test]
    fn the_pads_own_svg_becomes_strokes_and_is_written_anew() {
        let d = parse(PAD).unwrap();
        assert_eq!(d.view, [0.0, 0.0, 1000.0, 400.0]);
        assert_eq!(d.strokes.len(), 2);
        assert_eq!(d.strokes[0].width, 4.5);
        assert_eq!(d.strokes[0].points.first(), Some(&[10.0, 20.0]));
        assert_eq!(d.strokes[0].points.last(), Some(&[70.0, 80.0]));
        let svg = render(&d);
        assert!(
            svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 400""#)
        );
        assert!(svg.contains(r#"<path d="M10 20L"#), "{svg}");
        assert!(
            svg.contains(r#"<path d="M5 5L5 5" stroke-width="4"/>"#),
            "{svg}"
        );
        // The hub's own SVG reads back to the same drawing.
        assert_eq!(parse(&svg).unwrap().strokes.len(), 2);
    }

    #[test]
    fn anything_but_drawing_is_refused() {
        let cases = [
            r#"<svg><script>alert(1)</script></svg>"#,
            r#"<svg onload="x()"><path d="M0 0L1 1"/></svg>"#,
            r#"<svg><a href="&#106;avascript:x()"><path d="M0 0L1 1"/></a></svg>"#,
            r#"<svg><image href="http://evil/x.png"/></svg>"#,
            r##"<svg xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="#a"/></svg>"##,
            r#"<svg><filter><feImage href="http://evil/"/></filter></svg>"#,
            r#"<svg><style>@import url(http://evil/x.css);</style></svg>"#,
            r#"<svg><path style="fill:url(http://evil/)" d="M0 0L1 1"/></svg>"#,
            r#"<svg><path d="M0 0L1 1"><set attributeName="d" to="M0 0"/></path></svg>"#,
            r#"<svg><path d="M0 0L1 1"><animate attributeName="d"/></path></svg>"#,
            r#"<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg><path d="M0 0L1 1"/></svg>"#,
            r#"<svg><path d="M0 0A 5 5 0 0 1 10 10"/></svg>"#,
            r#"<svg><foreignObject/></svg>"#,
            r#"<svg>hello</svg>"#,
            r#"<svg></svg>"#,
            "hello",
        ];
        for case in cases {
            assert!(parse(case).is_err(), "accepted: {case}");
        }
    }

    #[test]
    fn nested_use_bombs_are_refused() {
        let mut svg = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><path id="a0" d="M0 0L1 1"/>"##,
        );
        for i in 1..12 {
            let prev = i - 1;
            svg.push_str(&format!(
                r##"<g id="a{i}"><use xlink:href="#a{prev}"/><use xlink:href="#a{prev}"/></g>"##
            ));
        }
        svg.push_str(r##"</defs><use xlink:href="#a11"/></svg>"##);
        assert_eq!(parse(&svg), Err(Refused::NotAllowed("<defs>".into())));
    }

    #[test]
    fn counts_and_coordinates_are_bounded() {
        let many: String = (0..MAX_POINTS + 1).map(|i| format!("L{i} 0")).collect();
        let svg = format!(r#"<svg><path d="M0 0{many}"/></svg>"#);
        assert_eq!(parse(&svg), Err(Refused::TooMuch));
        assert!(parse(r#"<svg><path d="M0 0L1e9 1"/></svg>"#).is_err());
        assert!(parse(r#"<svg><path d="M0 0L NaN 1"/></svg>"#).is_err());
        let big = format!("<svg>{}</svg>", " ".repeat(MAX_SVG_BYTES));
        assert_eq!(parse(&big), Err(Refused::TooLarge));
    }

    #[test]
    fn relative_commands_and_signature_pad_curves_are_read() {
        let d = parse(r#"<svg width="100px" height="50"><path d="m10,10 l5-5h3v2c1 1 2 2 3 3z"/><polyline points="1,1 2,2"/><line x1="0" y1="0" x2="3" y2="4"/><circle cx="9" cy="9" r="2"/></svg>"#).unwrap();
        assert_eq!(d.view, [0.0, 0.0, 100.0, 50.0]);
        assert_eq!(d.strokes.len(), 4);
        assert_eq!(
            &d.strokes[0].points[..4],
            &[[10.0, 10.0], [15.0, 5.0], [18.0, 5.0], [18.0, 7.0]]
        );
        assert_eq!(d.strokes[0].points.last(), Some(&[10.0, 10.0]));
        assert_eq!(d.strokes[3].width, 4.0);
    }
}
