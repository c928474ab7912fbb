extension PixelImage {
    /// The image as a PNG file's bytes (libpng's `png_image_write_to_memory`: 8 bits per sample,
    /// gray or RGB as the image is, default compression). Decoding them gives the same pixels.
    public func pngData() throws(ImageProblem) -> [UInt8] {
        try PNGCodec.encode(self)
    }

    /// The image as a JPEG file's bytes (TurboJPEG's `tjCompress2`, baseline unless
    /// `progressive`). Gray images are written as gray JPEGs (`subsampling` is then ignored).
    ///
    /// - Parameters:
    ///   - quality: 1…100 (libjpeg's scale; Pillow's default is 75).
    ///   - subsampling: chroma subsampling for RGB images.
    ///   - progressive: write a progressive JPEG.
    public func jpegData(quality: Int = 90, subsampling: JPEGSubsampling = .yuv420, progressive: Bool = false) throws(ImageProblem) -> [UInt8] {
        try JPEGCodec.encode(self, quality: quality, subsampling: subsampling, progressive: progressive)
    }
}
