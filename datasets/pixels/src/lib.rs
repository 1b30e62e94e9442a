//! Pillow-exact resampling of 8-bit RGB images.
//!
//! The SmolVLM authors preprocess images with Pillow (`Image.resize` with `LANCZOS`), and a
//! vision-language model turns small pixel differences into different tokens. This crate
//! reproduces `PIL.Image.resize` bit for bit on 8-bit RGB images for the filters image processors
//! use, written from the algorithm's description (not from Pillow's code):
//!
//! - [`filter`]: the filter kernels and their support (Pillow's numeric `resample` codes).
//! - [`coeffs`]: per-output-pixel tap windows and weights, normalised and turned into Pillow's
//!   fixed-point integers.
//! - [`resample`]: the two separable passes (horizontal into an 8-bit intermediate, then
//!   vertical), each vectorised across pixels and spread over threads, and nearest-neighbour
//!   sampling as Pillow's affine scaling does it.
//! - [`alpha`]: transparency composited onto white as `Image.alpha_composite` does it.
//! - [`planes`]: tiles into normalised `f32` channel planes through per-channel tables; [`crop`]
//!   cuts them out.
//! - [`reduce`]: shrinking by a whole factor, each output pixel the mean of its block (the
//!   fast first step of a thumbnail).
//!
//! ```
//! use smolbench_pixels::{resize_rgb8, Filter};
//! let img = image::RgbImage::from_fn(8, 4, |x, y| image::Rgb([(x * 30) as u8, (y * 60) as u8, 7]));
//! let out = resize_rgb8(&img, 4, 2, Filter::Lanczos);
//! assert_eq!(out.dimensions(), (4, 2));
//! ```
#![deny(missing_docs)]

pub mod alpha;
pub mod coeffs;
pub mod crop;
pub mod filter;
pub mod planes;
pub mod reduce;
pub mod resample;

pub use alpha::{composite_on_white, rgba_on_white};
pub use crop::crop_rgb8;
pub use filter::{Filter, UnknownFilter};
pub use planes::channel_planes;
pub use reduce::reduce_rgb8;
pub use resample::resize_rgb8;
