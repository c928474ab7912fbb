import Foundation

/// How a channel's data arrives (`TrainingInputMode`).
public enum InputMode: String, Sendable, Equatable, CaseIterable {
    case file = "File"
    case fastFile = "FastFile"
    case pipe = "Pipe"
}

/// One entry of `inputdataconfig.json` (reference §1.4).
public struct ChannelConfiguration: Sendable, Equatable {
    public let name: String
    /// `nil` when the channel specified none (the algorithm's default applies).
    public let contentType: MediaType?
    public let inputMode: InputMode
    /// `FullyReplicated` or `ShardedByS3Key`.
    public let distribution: String
    /// `None` or `RecordIO`.
    public let recordWrapper: String

    public init(name: String, contentType: MediaType?, inputMode: InputMode, distribution: String, recordWrapper: String) {
        self.name = name
        self.contentType = contentType
        self.inputMode = inputMode
        self.distribution = distribution
        self.recordWrapper = recordWrapper
    }
}

/// `resourceconfig.json` (reference §1.5).
public struct ResourceConfiguration: Sendable, Equatable {
    public let currentHost: String
    public let hosts: [String]
    public let networkInterfaceName: String

    /// One host, `algo-1`: what a local run without the file uses.
    public static let singleHost = ResourceConfiguration(currentHost: "algo-1", hosts: ["algo-1"], networkInterfaceName: "eth0")

    public init(currentHost: String, hosts: [String], networkInterfaceName: String) {
        self.currentHost = currentHost
        self.hosts = hosts
        self.networkInterfaceName = networkInterfaceName
    }
}

/// The configuration files of `/opt/ml/input/config`, parsed and checked before any data is read.
public enum ContainerConfiguration {
    /// Channel names as SageMaker allows them: 1–64 of `[A-Za-z0-9.\-_]`.
    static func isValidChannelName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) }
    }

    /// `hyperparameters.json`: a flat object whose values SageMaker sends as strings. Numbers
    /// and booleans (as hand-written files have them) are accepted and turned into their text.
    public static func hyperparameters(_ data: Data, path: String) throws(ContainerError) -> [String: String] {
        let object = try jsonObject(data, path: path)
        var out: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let s as String: out[key] = s
            case let n as NSNumber:
                // JSONSerialization gives booleans as NSNumber too; their objCType is "c".
                out[key] = String(cString: n.objCType) == "c" ? (n.boolValue ? "true" : "false") : n.stringValue
            default:
                throw .client("\(path): hyperparameter '\(key)' must be a string (SageMaker sends every value as a string), found \(value)")
            }
        }
        return out
    }

    /// `inputdataconfig.json`, channels sorted by name.
    public static func channels(_ data: Data, path: String) throws(ContainerError) -> [ChannelConfiguration] {
        let object = try jsonObject(data, path: path)
        var channels: [ChannelConfiguration] = []
        for name in object.keys.sorted() {
            guard isValidChannelName(name) else {
                throw .client("\(path): channel name '\(name)' is not 1–64 characters of letters, digits, '.', '-' or '_'")
            }
            guard let entry = object[name] as? [String: Any] else {
                throw .client("\(path): channel '\(name)' must be an object with TrainingInputMode, S3DistributionType, …")
            }
            func text(_ key: String, default fallback: String?) throws(ContainerError) -> String? {
                guard let value = entry[key] else { return fallback }
                guard let s = value as? String else { throw .client("\(path): channel '\(name)': \(key) must be a string, found \(value)") }
                return s
            }
            let contentType = try text("ContentType", default: nil).map { t throws(ContainerError) in try MediaType(parsing: MediaType.expandingShorthand(t)) }
            let modeText = try text("TrainingInputMode", default: "File") ?? "File"
            guard let mode = InputMode(rawValue: modeText) else {
                throw .client("\(path): channel '\(name)': TrainingInputMode '\(modeText)' is not one of File, FastFile, Pipe")
            }
            let distribution = try text("S3DistributionType", default: "FullyReplicated") ?? "FullyReplicated"
            guard ["FullyReplicated", "ShardedByS3Key"].contains(distribution) else {
                throw .client("\(path): channel '\(name)': S3DistributionType '\(distribution)' is not FullyReplicated or ShardedByS3Key")
            }
            let wrapper = try text("RecordWrapperType", default: "None") ?? "None"
            guard ["None", "RecordIO"].contains(wrapper) else {
                throw .client("\(path): channel '\(name)': RecordWrapperType '\(wrapper)' is not None or RecordIO")
            }
            channels.append(ChannelConfiguration(name: name, contentType: contentType, inputMode: mode,
                                                 distribution: distribution, recordWrapper: wrapper))
        }
        return channels
    }

    /// `resourceconfig.json`: `current_host` must be one of `hosts`.
    public static func resources(_ data: Data, path: String) throws(ContainerError) -> ResourceConfiguration {
        let object = try jsonObject(data, path: path)
        guard let current = object["current_host"] as? String, !current.isEmpty else {
            throw .client("\(path): current_host must be a non-empty string")
        }
        guard let hosts = object["hosts"] as? [String], !hosts.isEmpty else {
            throw .client("\(path): hosts must be a non-empty list of host names")
        }
        guard hosts.contains(current) else {
            throw .client("\(path): current_host '\(current)' is not one of hosts \(hosts)")
        }
        let interface = object["network_interface_name"] as? String ?? "eth0"
        return ResourceConfiguration(currentHost: current, hosts: hosts.sorted(), networkInterfaceName: interface)
    }

    /// `checkpointconfig.json`'s `LocalPath`, if it names one.
    public static func checkpointPath(_ data: Data, path: String) throws(ContainerError) -> String? {
        let object = try jsonObject(data, path: path)
        guard let value = object["LocalPath"] else { return nil }
        guard let local = value as? String, !local.isEmpty else { throw .client("\(path): LocalPath must be a non-empty string") }
        return local
    }

    static func jsonObject(_ data: Data, path: String) throws(ContainerError) -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .client("\(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else { throw .client("\(path) must hold a JSON object") }
        return object
    }
}
