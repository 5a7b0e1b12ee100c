// Value types for images read from and written to disk. Pixels stay in the dtype and values the file stored
// them in: nothing is rescaled on read (a 12-bit camera image in uint16 keeps values 0..4095).

/** Sample types an image can hold, named as numpy names them. */
export type DType = 'uint8' | 'uint16' | 'uint32' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** One typed array per dtype. */
export type PixelArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/**
 * What the samples of a pixel mean.
 * - `gray`: one sample (TIFF min-is-black, PNG/JPEG grey). TIFF palette images are also `gray` (the stored
 *   indices are kept; see `ImageMetadata.photometric`).
 * - `gray-alpha`: grey then alpha.
 * - `rgb`, `rgba`: red, green, blue (then alpha).
 * - `multi`: several samples per pixel with no colour meaning (e.g. TIFF min-is-black with 2 samples and no alpha,
 *   CMYK). Pick one with `toFloat32Gray(image, plane, { sample })`.
 */
export type ColorModel = 'gray' | 'gray-alpha' | 'rgb' | 'rgba' | 'multi';

/** File format an image was decoded from. */
export type ImageFormat = 'tiff' | 'png' | 'jpeg';

/**
 * An image or a stack of images (planes) of one size and dtype.
 *
 * `planes[i]` holds plane i (a TIFF page: a z-slice, a time point or a channel, in the order the file stores them;
 * see `metadata.dimensionOrder` and `planeIndex`). Each plane is row-major, top row first, `width * height *
 * samplesPerPixel` values long, with the samples of a pixel next to each other (RGBRGB…).
 */
export interface ImageStack {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** Type of every sample, as stored. */
  dtype: DType;
  /**
   * Significant bits per sample as the file declares them: 8/16/32/64 for TIFF, 1/2/4/8/16 for PNG (1-, 2- and
   * 4-bit PNG grey is unpacked into uint8 without rescaling, so values stay in 0..2^bits-1), 8 for JPEG.
   */
  bitsPerSample: number;
  /** Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (or `multi`). */
  samplesPerPixel: number;
  /** What the samples mean. */
  colorModel: ColorModel;
  /** Pixel data, one array per plane; each array's type matches `dtype`. */
  planes: PixelArray[];
  /** Format the image was decoded from (absent on images built in memory). */
  format?: ImageFormat;
  /** Calibration and file metadata. */
  metadata: ImageMetadata;
}

/** Calibration and descriptive metadata. Every physical size is converted to nanometres where a unit is known. */
export interface ImageMetadata {
  /** Size of one pixel along x (columns) in nanometres, when the file states it in a physical unit. */
  pixelSizeNm?: number;
  /** Size of one pixel along y (rows) in nanometres, when stated; usually equal to `pixelSizeNm`. */
  pixelSizeYNm?: number;
  /** Distance between z-slices in nanometres (ImageJ `spacing`, OME `PhysicalSizeZ`), when stated. */
  zSpacingNm?: number;
  /** The length unit exactly as the file wrote it (e.g. `micron`, `\u00B5m`, `µm`, `nm`). */
  pixelSizeUnit?: string;
  /** Objective numerical aperture (OME `Objective LensNA`, or ImageJ Info's original metadata: imagej.ts). */
  numericalAperture?: number;
  /**
   * Emission wavelength of the first channel that states one, in nanometres (OME `Channel EmissionWavelength`, or
   * ImageJ Info's original metadata).
   */
  emissionWavelengthNm?: number;
  /**
   * Pupil cut-off in cycles/pixel as psfid recorded it (`psfid.fc = …` in ImageJ's Info, imagej.ts): written by
   * `psfid simulate` (and `psfid psf`) when the cut-off was given as --fc or drawn, so that no NA, wavelength and
   * pixel size state it. identify uses it before NA·pixel/λ from the metadata; any cut-off flag overrides it.
   */
  fc?: number;
  /** The pixel size (nm) the recorded `fc` refers to (`psfid.fc.pixelSizeNm`), when psfid wrote one. */
  fcPixelSizeNm?: number;
  /**
   * Number of channels (C), z-slices (Z) and time points (T). Readers always set them: from ImageJ or OME
   * metadata when the file describes its planes consistently, else C=1, Z=planes, T=1 (RGB samples are not C).
   */
  sizeC?: number;
  sizeZ?: number;
  sizeT?: number;
  /**
   * Whether sizeC/sizeZ/sizeT are the file's word — 'stated': ImageJ `channels=`/`slices=`/`frames=`, OME
   * `SizeC/SizeZ/SizeT`, tifffile's `axes` — or the readers' default for planes the file does not describe —
   * 'unknown': Z = planes by convention only, and a bare multi-page TIFF may as well be a time-lapse or channels.
   * TIFF readers set it; PNG and JPEG (one plane) leave it out. See `planeAxesStated`.
   */
  planeAxes?: 'stated' | 'unknown';
  /**
   * Order of planes, fastest-varying first after X and Y, as OME writes it (e.g. `XYCZT`: channel varies fastest,
   * which is ImageJ's order). Plane index of (c, z, t) follows from it; see `planeIndex`. Readers always set it
   * (`XYCZT` when the file does not say).
   */
  dimensionOrder?: DimensionOrder;
  /** ImageJ metadata, when the TIFF's ImageDescription starts with `ImageJ=`. */
  imagej?: ImageJMetadata;
  /** OME metadata, when the TIFF's ImageDescription holds OME-XML. */
  ome?: OmeMetadata;
  /** TIFF ImageDescription (first page), PNG `Description` text, or JPEG comment, verbatim (trailing NULs cut). */
  description?: string;
  /** TIFF Software tag. */
  software?: string;
  /** TIFF PhotometricInterpretation as a word (`minisblack`, `miniswhite`, `rgb`, `palette`, `separated`, …). */
  photometric?: string;
  /**
   * Palette TIFFs: whether the colour map is a grey ramp (red = green = blue at every index, never darker at a higher
   * index), so that the stored indices order like the intensities they show. Undefined for other images.
   */
  paletteGreyRamp?: boolean;
  /** TIFF Compression as a word (`none`, `lzw`, `deflate`, `packbits`, …). */
  compression?: string;
  /**
   * Raw resolution tags: TIFF XResolution/YResolution (pixels per `unit`) or PNG pHYs. Only ImageJ and OME
   * calibrations are turned into `pixelSizeNm`: a bare resolution is usually a print DPI, not a pixel size.
   */
  resolution?: { x: number; y: number; unit: 'none' | 'inch' | 'centimeter' | 'meter' };
  /** PNG text chunks (tEXt/zTXt/iTXt). */
  text?: Record<string, string>;
  /** Pages skipped when reading a TIFF (reduced-resolution thumbnails and masks). */
  skippedPages?: number;
}

/** Plane orders OME allows. */
export type DimensionOrder = 'XYZCT' | 'XYZTC' | 'XYCTZ' | 'XYCZT' | 'XYTCZ' | 'XYTZC';

/** Fields of an ImageJ ImageDescription (`ImageJ=1.54f\nimages=90\nchannels=2\n…`). */
export interface ImageJMetadata {
  /** Version string after `ImageJ=` (may be empty). */
  version: string;
  images?: number;
  channels?: number;
  slices?: number;
  frames?: number;
  hyperstack?: boolean;
  /** Length unit as written (`micron`, `um`, `\u00B5m`, `nm`, `pixel`, …). */
  unit?: string;
  /** z-spacing in `unit` (or `zunit` when given). */
  spacing?: number;
  /** Frame interval in `tunit` (seconds by default). */
  finterval?: number;
  mode?: string;
  min?: number;
  max?: number;
  loop?: boolean;
  /** Every `key=value` line, verbatim. */
  raw: Record<string, string>;
  /**
   * The image's `Info` property (ImageJ's binary metadata, TIFF tag 50839), when present: free text, e.g. a
   * microscope file's original metadata as Fiji's Bio-Formats importer writes it.
   */
  info?: string;
}

/** Values from the first `Image` of an OME-XML document. */
export interface OmeMetadata {
  /** Number of `Image` elements in the document (only the first is read). */
  imageCount: number;
  sizeX?: number;
  sizeY?: number;
  sizeC?: number;
  sizeZ?: number;
  sizeT?: number;
  dimensionOrder?: string;
  /** Pixel type as OME names it (`uint16`, `float`, …). */
  type?: string;
  physicalSizeX?: number;
  /** Unit of PhysicalSizeX; OME's default is µm. */
  physicalSizeXUnit?: string;
  physicalSizeY?: number;
  physicalSizeYUnit?: string;
  physicalSizeZ?: number;
  physicalSizeZUnit?: string;
  /** Objective numerical aperture (`Instrument/Objective/@LensNA`, the one `ObjectiveSettings` names if any). */
  lensNA?: number;
  channels: OmeChannel[];
}

export interface OmeChannel {
  name?: string;
  /** Emission wavelength in `emissionWavelengthUnit` (OME's default nm). */
  emissionWavelength?: number;
  emissionWavelengthUnit?: string;
  /** Emission wavelength converted to nanometres. */
  emissionWavelengthNm?: number;
  excitationWavelength?: number;
  excitationWavelengthUnit?: string;
  /** Excitation wavelength converted to nanometres. */
  excitationWavelengthNm?: number;
  samplesPerPixel?: number;
}
