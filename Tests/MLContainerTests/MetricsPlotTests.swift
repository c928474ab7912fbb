import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MLCore
@testable import MLContainer
import Testing

/// An element of a parsed SVG document.
final class SVGNode {
    let name: String
    let attributes: [String: String]
    var children: [SVGNode] = []
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// Every element below this one (itself included) with `name`, in document order.
    func all(_ name: String) -> [SVGNode] {
        (self.name == name ? [self] : []) + children.flatMap { $0.all(name) }
    }

    func all(_ name: String, class cls: String) -> [SVGNode] { all(name).filter { $0.attributes["class"] == cls } }
    func child(_ name: String) -> SVGNode? { children.first { $0.name == name } }
    subscript(_ attribute: String) -> String? { attributes[attribute] }
}

/// Parses with Foundation's `XMLParser`; `nil` when the document is not well-formed.
final class SVGParser: NSObject, XMLParserDelegate {
    private var stack: [SVGNode] = []
    private var root: SVGNode?

    static func parse(_ svg: String) -> SVGNode? {
        let delegate = SVGParser()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = delegate
        guard parser.parse(), delegate.stack.isEmpty else { return nil }
        return delegate.root
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:]) {
        let node = SVGNode(name: elementName, attributes: attributeDict)
        if let parent = stack.last { parent.children.append(node) } else { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}

/// A binary classifier's history: train and validation objective, validation accuracy; values
/// at `nonFinite` epochs are replaced (validation objective) with the given value.
func plotHistory(epochs n: Int, first: Int = 0, nonFinite: [Int: Double] = [:]) -> [EpochSummary] {
    let objective = "binary_classification_cross_entropy_objective"
    var best = Double.infinity
    return (first..<(first + n)).map { e in
        let t = Double(e)
        let validation = nonFinite[e] ?? (0.09 + 0.2 * exp(-t / 6))
        let metrics = [
            MetricValue(channel: "train", name: objective, kind: .loss, value: 0.08 + 0.4 * exp(-t / 5)),
            MetricValue(channel: "validation", name: objective, kind: .loss, value: validation),
            MetricValue(channel: "validation", name: "binary_classification_accuracy", kind: .score,
                        value: 0.92 + 0.05 * (1 - exp(-t / 4))),
        ]
        let improved = validation.isFinite && validation < best
        if improved { best = validation }
        return EpochSummary(epoch: e, epochs: first + n, metrics: metrics, criterion: metrics[1], improved: improved,
                            rowsPerSecond: 1e5, seconds: 0.01)
    }
}

/// The polyline's points as (x, y).
func polylinePoints(_ node: SVGNode) -> [(Double, Double)] {
    (node["points"] ?? "").split(separator: " ").map { pair in
        let xy = pair.split(separator: ",").map { Double(String($0))! }
        return (xy[0], xy[1])
    }
}

/// Whether `values` are evenly spaced by 1, 2 or 5 × 10ⁿ.
func isNiceSequence(_ values: [Double]) -> Bool {
    guard values.count >= 2 else { return values.count == 1 }
    let step = values[1] - values[0]
    guard step > 0 else { return false }
    for i in 1..<values.count where abs((values[i] - values[i - 1]) - step) > step * 1e-9 { return false }
    let mantissa = step / pow(10, (log10(step)).rounded(.down))
    return [1.0, 2, 5, 10].contains { abs(mantissa - $0) < 1e-9 }
}

@Suite("MetricsPlot")
struct MetricsPlotTests {
    @Test("a well-formed, self-sized SVG: a panel per loss metric and one for scores, one polyline per series")
    func structure() throws {
        let svg = MetricsPlot.svg(history: plotHistory(epochs: 12), title: "breast cancer")
        let root = try #require(SVGParser.parse(svg))
        #expect(root.name == "svg" && root["xmlns"] == "http://www.w3.org/2000/svg")
        let width = try #require(root["width"].flatMap { Int($0) }), height = try #require(root["height"].flatMap { Int($0) })
        #expect(root["viewBox"] == "0 0 \(width) \(height)")
        #expect(root.child("title")?.text == "breast cancer")
        #expect(root.child("desc") != nil)
        // Self-contained: nothing fetched, nothing run.
        for forbidden in ["<script", "<style", "href", "@import", "url("] { #expect(!svg.contains(forbidden)) }

        let panels = root.all("g", class: "panel")
        #expect(panels.count == 2)
        #expect(panels[0].all("text", class: "panel-title").first?.text == "binary_classification_cross_entropy_objective (lower is better)")
        #expect(panels[1].all("text", class: "panel-title").first?.text == "scores (higher is better)")

        let lossSeries = panels[0].all("g", class: "series"), scoreSeries = panels[1].all("g", class: "series")
        #expect(lossSeries.map { $0["data-channel"] } == ["train", "validation"])
        #expect(scoreSeries.map { $0["data-metric"] } == ["binary_classification_accuracy"])
        for series in lossSeries + scoreSeries {
            let lines = series.all("polyline")
            #expect(lines.count == 1)
            #expect(polylinePoints(lines[0]).count == 12)
            // x increases with the epoch; everything lies inside the document.
            let xs = polylinePoints(lines[0]).map(\.0)
            #expect(xs == xs.sorted() && Set(xs).count == 12)
            for (x, y) in polylinePoints(lines[0]) { #expect(x > 0 && x < Double(width) && y > 0 && y < Double(height)) }
        }
        // Train and validation of one metric differ in color, and the legend names both.
        let colors = lossSeries.map { $0.all("polyline")[0]["stroke"] }
        #expect(colors[0] != colors[1])
        #expect(panels[0].all("g", class: "legend")[0].all("text").map(\.text) == ["train", "validation"])
    }

    @Test("y tick labels are 1-2-5 steps covering each panel's data; x ticks are whole epochs inside the run")
    func ticks() throws {
        let history = plotHistory(epochs: 32)
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        let panels = root.all("g", class: "panel")
        let losses = history.flatMap { $0.metrics.filter { $0.kind == .loss }.map(\.value) }
        let scores = history.flatMap { $0.metrics.filter { $0.kind == .score }.map(\.value) }
        for (panel, data) in zip(panels, [losses, scores]) {
            let ticks = panel.all("text", class: "y-tick").map { Double($0.text)! }
            #expect(ticks.count >= 3 && ticks.count <= 7, "\(ticks)")
            #expect(isNiceSequence(ticks), "\(ticks)")
            #expect(ticks.first! <= data.min()! && ticks.last! >= data.max()!, "\(ticks) vs \(data.min()!)…\(data.max()!)")
            let epochs = panel.all("text", class: "x-tick").map(\.text)
            #expect(epochs == ["0", "5", "10", "15", "20", "25", "30"])
        }
        // Scores stay within [0, 1].
        let scoreTicks = panels[1].all("text", class: "y-tick").map { Double($0.text)! }
        #expect(scoreTicks.first! >= 0 && scoreTicks.last! <= 1)
    }

    @Test("value axes: nice steps, covering the data, for many ranges", arguments: [
        [0.0, 1.0], [0.3, 0.31], [0.92, 0.974], [-3.5, 12.25], [1234.0, 98765.0], [2e-7, 9e-7], [5e8, 3e9], [0.25, 0.25], [0.0, 0.0], [-2.0, -2.0],
    ])
    func valueAxis(_ data: [Double]) {
        let axis = MetricsPlot.Axis.values(data, unitInterval: false)
        let values = axis.ticks.map(\.value)
        #expect(isNiceSequence(values), "\(axis.ticks.map(\.label))")
        #expect(values.first! <= data.min()! && values.last! >= data.max()!, "\(axis.ticks.map(\.label))")
        #expect(values.count >= 2 && values.count <= 7, "\(axis.ticks.map(\.label))")
        #expect(axis.low == values.first! && axis.high == values.last!)
        // The labels read back as the values.
        for tick in axis.ticks { #expect(abs(Double(tick.label)! - tick.value) <= abs(tick.value) * 1e-12 + 1e-300, "\(tick.label)") }
        // Non-negative data never gets a negative tick.
        if data.allSatisfy({ $0 >= 0 }) { #expect(values.first! >= 0) }
    }

    @Test("epoch axes: integer 1-2-5 steps within the run, at most ten ticks", arguments: [(0, 1), (0, 2), (3, 7), (0, 32), (0, 300), (10, 1000), (0, 5000)])
    func epochAxis(_ first: Int, _ count: Int) {
        let last = first + count - 1
        let axis = MetricsPlot.Axis.epochs(first: first, last: last, plotWidth: MetricsPlot.Layout.plotWidth)
        let values = axis.ticks.map(\.value)
        #expect(axis.ticks.allSatisfy { Int($0.label) != nil && Double(Int($0.label)!) == $0.value })
        #expect(values.allSatisfy { $0 >= Double(first) && $0 <= Double(last) })
        #expect(isNiceSequence(values) && values.count <= 10, "\(values)")
        #expect(count == 1 || values.count >= 2)
    }

    @Test("tick labels are formatted from integers, never from a rounded Double or a locale")
    func tickLabels() {
        typealias T = MetricsPlot.TickFormat
        #expect(T.labels([0, 2, 4, 6], exponent: -1) == ["0.0", "0.2", "0.4", "0.6"])
        #expect(T.labels([92, 94, 96, 98], exponent: -2) == ["0.92", "0.94", "0.96", "0.98"])
        #expect(T.labels([-5, 0, 5], exponent: 0) == ["-5", "0", "5"])
        #expect(T.labels([0, 2, 4], exponent: 3) == ["0", "2000", "4000"])
        #expect(T.labels([0, 5, 10, 15], exponent: 8) == ["0", "5e8", "1e9", "1.5e9"])
        #expect(T.labels([2, 4], exponent: -7) == ["2e-7", "4e-7"])
        #expect(T.labels([-15], exponent: -2) == ["-0.15"])
        #expect(MetricsPlot.f(-0.004) == "0" && MetricsPlot.f(12.5) == "12.5" && MetricsPlot.f(3.14159) == "3.14" && MetricsPlot.f(-7.05) == "-7.05")
    }

    @Test("NaN and ±∞ break the line and are listed under the panel")
    func nonFiniteGaps() throws {
        let history = plotHistory(epochs: 32, nonFinite: [5: .nan, 6: .nan, 12: .infinity, 20: -.infinity])
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        let panel = root.all("g", class: "panel")[0]
        let validation = try #require(panel.all("g", class: "series").first { $0["data-channel"] == "validation" })
        #expect(validation.all("polyline").map { polylinePoints($0).count } == [5, 5, 7, 11])
        let train = try #require(panel.all("g", class: "series").first { $0["data-channel"] == "train" })
        #expect(train.all("polyline").map { polylinePoints($0).count } == [32])
        let notes = panel.all("text", class: "note").map(\.text)
        #expect(notes.count == 1)
        #expect(notes.first?.hasPrefix("validation: 4 non-finite values") == true)
        #expect(notes.first?.hasSuffix("epochs 5, 6, 12, 20") == true)
        // The axis is the finite values'.
        #expect(panel.all("text", class: "y-tick").allSatisfy { Double($0.text)!.isFinite })
        #expect(!MetricsPlot.svg(history: history, title: "t").contains("nan") && !MetricsPlot.svg(history: history, title: "t").contains("inf"))
    }

    @Test("a finite value between two gaps is a dot")
    func isolatedPoint() throws {
        let history = plotHistory(epochs: 6, nonFinite: [1: .nan, 3: .nan])
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        let validation = try #require(root.all("g", class: "series").first { $0["data-channel"] == "validation" && $0["data-metric"]!.hasSuffix("objective") })
        #expect(validation.all("circle", class: "point").count == 2)  // epochs 0 and 2
        #expect(validation.all("polyline").map { polylinePoints($0).count } == [2])  // epochs 4, 5
    }

    @Test("one epoch: a dot per series on a single epoch tick, no lines")
    func singleEpoch() throws {
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: plotHistory(epochs: 1), title: "t")))
        #expect(root.all("polyline").isEmpty)
        let series = root.all("g", class: "series")
        #expect(series.count == 3)
        for s in series { #expect(s.all("circle", class: "point").count == 1) }
        // Mid-panel, on the only tick.
        for panel in root.all("g", class: "panel") {
            #expect(panel.all("text", class: "x-tick").map(\.text) == ["0"])
            let tickX = Double(panel.all("text", class: "x-tick")[0]["x"]!)!
            for dot in panel.all("circle", class: "point") { #expect(Double(dot["cx"]!)! == tickX) }
        }
        #expect(root.all("text", class: "subtitle").first?.text.hasPrefix("1 epoch completed (epoch 0)") == true)
    }

    @Test("hundreds of epochs: one polyline of every epoch, no per-point markers")
    func manyEpochs() throws {
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: plotHistory(epochs: 400), title: "t")))
        for series in root.all("g", class: "series") {
            #expect(series.all("polyline").map { polylinePoints($0).count } == [400])
            #expect(series.all("circle", class: "marker").isEmpty)
        }
        let small = try #require(SVGParser.parse(MetricsPlot.svg(history: plotHistory(epochs: 8), title: "t")))
        #expect(small.all("g", class: "series").allSatisfy { $0.all("circle", class: "marker").count == 8 })
    }

    @Test("no epochs: a valid SVG that says so")
    func empty() throws {
        let svg = MetricsPlot.svg(history: [], title: "job <1>")
        let root = try #require(SVGParser.parse(svg))
        #expect(root.child("title")?.text == "job <1>")
        #expect(root.all("text").contains { $0.text == "no epochs completed" })
        #expect(root.all("g", class: "series").isEmpty && root["viewBox"] != nil)
    }

    @Test("the title is escaped — markup, quotes and control characters", arguments: [
        #"a<b & "c" > 'd' </svg>"#, "]]> <!-- x", "tab\there\u{1}bell\u{7}", "\u{FFFF}ünïcødé 学习 🚀",
    ])
    func titleEscaping(_ title: String) throws {
        let svg = MetricsPlot.svg(history: plotHistory(epochs: 3), title: title)
        let root = try #require(SVGParser.parse(svg), "not well-formed for \(title.debugDescription)")
        let expected = String(String.UnicodeScalarView(title.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\t") || $0.value == 0xFFFF ? "\u{FFFD}" : $0
        }))
        #expect(root.child("title")?.text == expected)
        #expect(root.all("text", class: "heading").first?.text == expected)
        #expect(root.all("svg").count == 1)
        let empty = try #require(SVGParser.parse(MetricsPlot.svg(history: [], title: title)))
        #expect(empty.child("title")?.text == expected)
    }

    @Test("a long title is shortened on the page, whole in <title>")
    func longTitle() throws {
        let title = String(repeating: "linear-learner ", count: 20)
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: plotHistory(epochs: 3), title: title)))
        #expect(root.child("title")?.text == title)
        let heading = try #require(root.all("text", class: "heading").first?.text)
        #expect(heading.hasSuffix("…") && heading.count < 80)
    }

    @Test("the same history gives the same bytes, whatever the order of the epochs")
    func deterministic() {
        let history = plotHistory(epochs: 25, nonFinite: [7: .nan])
        let a = MetricsPlot.svg(history: history, title: "t"), b = MetricsPlot.svg(history: history, title: "t")
        #expect(a == b)
        #expect(MetricsPlot.svg(history: history.reversed(), title: "t") == a)
        #expect(MetricsPlot.svg(history: history, title: "u") != a)
    }

    @Test("the best epoch: the last improved one, or the one given; a dashed line and a ring per series")
    func bestEpoch() throws {
        var history = plotHistory(epochs: 10)
        for i in 6..<10 { history[i].improved = false }
        #expect(MetricsPlot.bestEpoch(in: history) == 5)
        #expect(MetricsPlot.bestEpoch(in: []) == nil)
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        for panel in root.all("g", class: "panel") {
            let line = try #require(panel.all("line", class: "best-epoch").first)
            #expect(panel.all("text", class: "best-epoch-label").first?.text == "best epoch 5")
            let series = panel.all("g", class: "series")
            #expect(panel.all("circle", class: "best").count == series.count)
            let fifth = polylinePoints(series[0].all("polyline")[0])[5]
            #expect(Double(line["x1"]!)! == fifth.0)
        }
        let given = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t", bestEpoch: 8)))
        #expect(given.all("text", class: "best-epoch-label").allSatisfy { $0.text == "best epoch 8" })
        // No improvement flagged and none given: no marker.
        for i in history.indices { history[i].improved = false }
        let none = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        #expect(none.all("line", class: "best-epoch").isEmpty && none.all("circle", class: "best").isEmpty)
    }

    @Test("a criterion that is not a metric (train objective with penalty) gets its own panel")
    func criterionOnly() throws {
        let objective = "binary_classification_cross_entropy_objective"
        let history = (0..<4).map { e in
            EpochSummary(epoch: e, epochs: 4, metrics: [MetricValue(channel: "train", name: objective, kind: .loss, value: 1 / Double(e + 1))],
                         criterion: MetricValue(channel: "train", name: objective + "_with_penalty", kind: .loss, value: 1 / Double(e + 1) + 0.1),
                         improved: true, rowsPerSecond: 1, seconds: 1)
        }
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        let titles = root.all("text", class: "panel-title").map(\.text)
        #expect(titles == [objective + " (lower is better)", objective + "_with_penalty (early-stopping criterion, lower is better)"])
    }

    @Test("objectives come first; scores outside [0, 1] get their own panel; several scores of a channel differ by dash")
    func scorePanels() throws {
        let history = (0..<5).map { e in
            let t = Double(e)
            return EpochSummary(epoch: e, epochs: 5, metrics: [
                MetricValue(channel: "validation", name: "accuracy", kind: .score, value: 0.5 + t / 10),
                MetricValue(channel: "validation", name: "f1", kind: .score, value: 0.4 + t / 10),
                MetricValue(channel: "train", name: "accuracy", kind: .score, value: 0.6 + t / 10),
                MetricValue(channel: "validation", name: "dcg", kind: .score, value: 2 + t),
                MetricValue(channel: "train", name: "objective", kind: .loss, value: 1 / (t + 1)),
            ], criterion: MetricValue(channel: "validation", name: "accuracy", kind: .score, value: 0.5 + t / 10),
            improved: true, rowsPerSecond: 1, seconds: 1)
        }
        let root = try #require(SVGParser.parse(MetricsPlot.svg(history: history, title: "t")))
        let panels = root.all("g", class: "panel")
        // Objectives first, whatever the order of the metrics.
        #expect(panels.map { $0.all("g", class: "series").count } == [1, 3, 1])
        #expect(panels[0].all("text", class: "panel-title").first?.text == "objective (lower is better)")
        let lines = panels[1].all("polyline")
        #expect(lines.map { $0["stroke-dasharray"] } == [nil, "7 4", nil])
        #expect(lines[0]["stroke"] == lines[1]["stroke"] && lines[0]["stroke"] != lines[2]["stroke"])
        #expect(panels[2].all("text", class: "panel-title").first?.text == "dcg (higher is better)")
    }
}
