/// Every built-in layer as one codable value: what `model.json` stores as the network's
/// architecture, and how a saved network is rebuilt.
public indirect enum LayerArchitecture: Sendable, Codable, Hashable {
    case conv2D(Conv2D)
    case maxPool2D(MaxPool2D)
    case avgPool2D(AvgPool2D)
    case globalAvgPool2D(GlobalAvgPool2D)
    case dense(Dense)
    case flatten(Flatten)
    case relu(ReLU)
    case leakyReLU(LeakyReLU)
    case sigmoid(Sigmoid)
    case tanh(Tanh)
    case softmax(Softmax)
    case batchNorm2D(BatchNorm2D)
    case dropout(Dropout)
    case residualBlock(ResidualBlock)
    case resNet(ResNet)
    case sequential([LayerArchitecture])

    /// The layer this describes.
    public var layer: any Layer { bindable }

    var bindable: any BindableLayer {
        switch self {
        case .conv2D(let l): l
        case .maxPool2D(let l): l
        case .avgPool2D(let l): l
        case .globalAvgPool2D(let l): l
        case .dense(let l): l
        case .flatten(let l): l
        case .relu(let l): l
        case .leakyReLU(let l): l
        case .sigmoid(let l): l
        case .tanh(let l): l
        case .softmax(let l): l
        case .batchNorm2D(let l): l
        case .dropout(let l): l
        case .residualBlock(let l): l
        case .resNet(let l): l
        case .sequential(let children): Sequential(children.map(\.layer))
        }
    }
}
