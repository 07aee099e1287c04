// `shapes`: procedurally drawn RGB images of one coloured shape on a plain or gently graded background,
// labelled with the shape's kind and captioned ("small red triangle top left"). The images are simple
// enough for a small diffusion model to learn in minutes, yet varied (kind, colour, size, position,
// rotation, background) so that class-conditional samples and a classifier's accuracy on them mean
// something.
//
// A scene is drawn from 16 uniforms of the sample's stream and described in coordinates relative to the
// image side, so sample k is the same scene at every resolution: 32 by default, 16 and 64 the smaller and
// larger variants, any size from 8 to 512 (at 16, the smallest shapes are only a few pixels wide).
// Each shape is a signed distance function in a unit disc; pixels whose centre lies further than half a
// pixel diagonal from the edge are wholly inside or outside, and the others are supersampled on a 4x4
// grid, which anti-aliases the edges while shading only the outline's pixels 16 times.

import { hostTensor } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { checkResolution, type Dataset, DEFAULT_RESOLUTION, selectionIndices } from './dataset.js';

export const SHAPE_KINDS = ['circle', 'ring', 'square', 'triangle', 'plus', 'star', 'heart', 'crescent'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** Named colours with their hue in degrees; the saturation and lightness vary around a vivid middle. */
const PALETTE = [
  { name: 'red', hue: 0 },
  { name: 'orange', hue: 28 },
  { name: 'yellow', hue: 55 },
  { name: 'green', hue: 125 },
  { name: 'cyan', hue: 185 },
  { name: 'blue', hue: 222 },
  { name: 'purple', hue: 275 },
  { name: 'pink', hue: 325 },
] as const;
export const SHAPE_COLOURS: readonly string[] = PALETTE.map((colour) => colour.name);

/** Shape radius as a fraction of the image side, per size word. */
const SIZES = [
  { name: 'small', min: 0.13, max: 0.19 },
  { name: 'medium', min: 0.19, max: 0.27 },
  { name: 'large', min: 0.27, max: 0.37 },
] as const;

/** A shape in unit-disc coordinates. */
interface Outline {
  /** Signed distance to the edge, negative inside; a lower bound of its magnitude is enough. */
  distance(x: number, y: number): number;
  /** Whether a point is inside: cheaper than the distance, and what each supersample asks. */
  contains(x: number, y: number): boolean;
}

/** An outline from a signed distance cheap enough to serve as its own inside test. */
function implicit(distance: (x: number, y: number) => number): Outline {
  return { distance, contains: (x, y) => distance(x, y) < 0 };
}

/** A simple polygon given as flat (x, y) vertices; exact signed distance after Inigo Quilez's sdPolygon. */
function polygon(vertices: readonly number[]): Outline {
  const n = vertices.length / 2;
  // Edge i runs from vertex i to vertex i - 1 (cyclically).
  const startX = new Float64Array(n);
  const startY = new Float64Array(n);
  const edgeX = new Float64Array(n);
  const edgeY = new Float64Array(n);
  const inverseSquaredLength = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = (i + n - 1) % n;
    startX[i] = vertices[2 * i]!;
    startY[i] = vertices[2 * i + 1]!;
    edgeX[i] = vertices[2 * j]! - startX[i]!;
    edgeY[i] = vertices[2 * j + 1]! - startY[i]!;
    inverseSquaredLength[i] = 1 / (edgeX[i]! ** 2 + edgeY[i]! ** 2);
  }
  /** Crossing-number test: whether edge i crosses the ray from (px, py) towards +x. */
  const crosses = (i: number, px: number, py: number): boolean => {
    const above = py >= startY[i]!;
    const below = py < startY[i]! + edgeY[i]!;
    const left = edgeX[i]! * (py - startY[i]!) > edgeY[i]! * (px - startX[i]!);
    return (above && below && left) || (!above && !below && !left);
  };
  return {
    distance(px, py) {
      let squared = Infinity;
      let inside = false;
      for (let i = 0; i < n; i++) {
        const wx = px - startX[i]!;
        const wy = py - startY[i]!;
        const along = Math.min(1, Math.max(0, (wx * edgeX[i]! + wy * edgeY[i]!) * inverseSquaredLength[i]!));
        const bx = wx - edgeX[i]! * along;
        const by = wy - edgeY[i]! * along;
        squared = Math.min(squared, bx * bx + by * by);
        if (crosses(i, px, py)) inside = !inside;
      }
      return inside ? -Math.sqrt(squared) : Math.sqrt(squared);
    },
    contains(px, py) {
      let inside = false;
      for (let i = 0; i < n; i++) if (crosses(i, px, py)) inside = !inside;
      return inside;
    },
  };
}

/** Vertices at the given radii, alternating, evenly spaced in angle from `startAngle` (radians, y down). */
function radialVertices(radii: readonly number[], count: number, startAngle: number): number[] {
  const vertices: number[] = [];
  for (let i = 0; i < count; i++) {
    const angle = startAngle + (2 * Math.PI * i) / count;
    const radius = radii[i % radii.length]!;
    vertices.push(radius * Math.cos(angle), radius * Math.sin(angle));
  }
  return vertices;
}

/** Euclidean length; Math.hypot is several times slower and this runs per pixel. */
function length(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

/**
 * The classic construction of a heart: a square standing on a corner with two discs on its upper edges.
 * With the square's half-diagonal 1 and y pointing down, the lobes are discs of radius 1/sqrt(2) at
 * (±1/2, -1/2); the union of exact distances (their minimum) bounds the heart's distance.
 */
function heartDistance(x: number, y: number): number {
  const ax = Math.abs(x);
  const qx = Math.abs(x + y) * Math.SQRT1_2 - Math.SQRT1_2;
  const qy = Math.abs(y - x) * Math.SQRT1_2 - Math.SQRT1_2;
  const square = length(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
  const lobe = length(ax - 0.5, y + 0.5) - Math.SQRT1_2;
  return Math.min(square, lobe);
}
// The heart spans y from -1/2 - 1/sqrt(2) to 1: centre that span, then scale its farthest point (a lobe's rim) to 1.
const HEART_CENTRE_Y = (1 - 0.5 - Math.SQRT1_2) / 2;
const HEART_REACH = Math.hypot(0.5, 0.5 + HEART_CENTRE_Y) + Math.SQRT1_2;

const ARM = 0.3;
const REACH = 0.95;

const OUTLINES: Record<ShapeKind, Outline> = {
  circle: implicit((x, y) => length(x, y) - 0.9),
  ring: implicit((x, y) => Math.abs(length(x, y) - 0.72) - 0.2),
  square: polygon(radialVertices([0.95], 4, Math.PI / 4)),
  triangle: polygon(radialVertices([1], 3, -Math.PI / 2)),
  plus: polygon([ARM, REACH, ARM, ARM, REACH, ARM, REACH, -ARM, ARM, -ARM, ARM, -REACH, -ARM, -REACH, -ARM, -ARM, -REACH, -ARM, -REACH, ARM, -ARM, ARM, -ARM, REACH]),
  star: polygon(radialVertices([1, 0.42], 10, -Math.PI / 2)),
  heart: implicit((x, y) => heartDistance(x * HEART_REACH, y * HEART_REACH + HEART_CENTRE_Y) / HEART_REACH),
  // A disc with an offset disc cut out; max(a, -b) bounds the true distance, which is all the renderer needs.
  crescent: implicit((x, y) => Math.max(length(x, y) - 0.92, 0.72 - length(x - 0.42, y))),
};

type Rgb = [number, number, number];

function hslToRgb(hueDegrees: number, saturation: number, lightness: number): Rgb {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const channel = (n: number): number => {
    const k = (n + hueDegrees / 30) % 12;
    return lightness - (chroma / 2) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [channel(0), channel(8), channel(4)];
}

/** Rec. 601 luma of gamma-encoded RGB: the brightness a viewer perceives, enough to keep shapes visible. */
function luma([r, g, b]: Rgb): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

interface Scene {
  kind: number;
  colour: number;
  size: number;
  /** Centre and radius as fractions of the image side; rotation in radians. */
  centreX: number;
  centreY: number;
  radius: number;
  rotation: number;
  foreground: Rgb;
  /** Background colours at the two ends of the gradient (equal when plain) and its unit direction. */
  backgroundFrom: Rgb;
  backgroundTo: Rgb;
  gradientX: number;
  gradientY: number;
}

const UNIFORMS_PER_SCENE = 16;
/** Background lightness stays at least this far from the shape's luma so that every shape stands out. */
const CONTRAST = 0.3;
const LIGHTNESS_MIN = 0.06;
const LIGHTNESS_MAX = 0.94;
const EDGE_MARGIN = 0.02;

/** The scene described by one sample's uniforms in [0, 1). */
function scene(u: Float64Array): Scene {
  const [kindU, colourU, hueU, saturationU, lightnessU, sizeU, radiusU, xU, yU, rotationU, backgroundHueU, backgroundSaturationU, backgroundLightnessU, gradedU, gradientAngleU, spreadU] = u;
  const kind = Math.floor(kindU * SHAPE_KINDS.length);
  const colour = Math.floor(colourU * PALETTE.length);
  const foreground = hslToRgb((PALETTE[colour]!.hue + 16 * (hueU - 0.5) + 360) % 360, 0.7 + 0.3 * saturationU, 0.5 + 0.12 * (lightnessU - 0.5));
  const size = Math.floor(sizeU * SIZES.length);
  const radius = SIZES[size]!.min + (SIZES[size]!.max - SIZES[size]!.min) * radiusU;
  const centreRange = 1 - 2 * (radius + EDGE_MARGIN);
  // Background lightness uniform on [MIN, luma - CONTRAST] ∪ [luma + CONTRAST, MAX].
  const shapeLuma = luma(foreground);
  const darkRange = Math.max(0, shapeLuma - CONTRAST - LIGHTNESS_MIN);
  const lightRange = Math.max(0, LIGHTNESS_MAX - shapeLuma - CONTRAST);
  const offset = backgroundLightnessU * (darkRange + lightRange);
  const lightness = offset < darkRange ? LIGHTNESS_MIN + offset : shapeLuma + CONTRAST + (offset - darkRange);
  const backgroundHue = 360 * backgroundHueU;
  const backgroundSaturation = 0.35 * backgroundSaturationU;
  // Half the backgrounds are plain; the others change lightness by 0.05 to 0.15 across the image.
  const halfSpread = gradedU < 0.5 ? 0.025 + 0.05 * spreadU : 0;
  const gradientAngle = 2 * Math.PI * gradientAngleU;
  return {
    kind,
    colour,
    size,
    centreX: radius + EDGE_MARGIN + centreRange * xU,
    centreY: radius + EDGE_MARGIN + centreRange * yU,
    radius,
    rotation: 2 * Math.PI * rotationU,
    foreground,
    backgroundFrom: hslToRgb(backgroundHue, backgroundSaturation, Math.max(0, lightness - halfSpread)),
    backgroundTo: hslToRgb(backgroundHue, backgroundSaturation, Math.min(1, lightness + halfSpread)),
    gradientX: Math.cos(gradientAngle),
    gradientY: Math.sin(gradientAngle),
  };
}

/** "small red triangle top left": size, colour, kind, and where its centre lies in a 3x3 division of the image. */
function caption(s: Scene): string {
  const column = s.centreX < 1 / 3 ? 'left' : s.centreX < 2 / 3 ? '' : 'right';
  const row = s.centreY < 1 / 3 ? 'top' : s.centreY < 2 / 3 ? '' : 'bottom';
  const place = [row, column].filter((word) => word !== '').join(' ') || 'centre';
  return `${SIZES[s.size]!.name} ${PALETTE[s.colour]!.name} ${SHAPE_KINDS[s.kind]} ${place}`;
}

const SUPERSAMPLES = 4;

/** Draws the scene into out[offset ..] as RGB planes [3, r, r] in [-1, 1]. */
function render(s: Scene, resolution: number, out: Float32Array, offset: number): void {
  const outline = OUTLINES[SHAPE_KINDS[s.kind]!];
  const plane = resolution * resolution;
  const radiusPixels = s.radius * resolution;
  const centreX = s.centreX * resolution;
  const centreY = s.centreY * resolution;
  // Image pixels to unit-disc coordinates: undo the translation, the rotation and the scale.
  const cos = Math.cos(s.rotation) / radiusPixels;
  const sin = Math.sin(s.rotation) / radiusPixels;
  const contains = (x: number, y: number): boolean => outline.contains(cos * (x - centreX) + sin * (y - centreY), cos * (y - centreY) - sin * (x - centreX));
  /** Fraction of pixel (px, py)'s area inside the shape. */
  const coverage = (px: number, py: number): number => {
    const x = px + 0.5;
    const y = py + 0.5;
    if (length(x - centreX, y - centreY) > radiusPixels + 1) return 0;
    const centreDistance = outline.distance(cos * (x - centreX) + sin * (y - centreY), cos * (y - centreY) - sin * (x - centreX)) * radiusPixels;
    if (centreDistance <= -Math.SQRT1_2) return 1;
    if (centreDistance >= Math.SQRT1_2) return 0;
    let hits = 0;
    for (let i = 0; i < SUPERSAMPLES; i++) {
      for (let j = 0; j < SUPERSAMPLES; j++) if (contains(px + (j + 0.5) / SUPERSAMPLES, py + (i + 0.5) / SUPERSAMPLES)) hits++;
    }
    return hits / (SUPERSAMPLES * SUPERSAMPLES);
  };
  for (let py = 0; py < resolution; py++) {
    for (let px = 0; px < resolution; px++) {
      // Position along the gradient: 0 on one side of the image, 1 on the other.
      const along = Math.min(1, Math.max(0, 0.5 + ((px + 0.5) / resolution - 0.5) * s.gradientX + ((py + 0.5) / resolution - 0.5) * s.gradientY));
      const cover = coverage(px, py);
      for (let c = 0; c < 3; c++) {
        const background = s.backgroundFrom[c]! + (s.backgroundTo[c]! - s.backgroundFrom[c]!) * along;
        out[offset + c * plane + py * resolution + px] = 2 * (background + (s.foreground[c]! - background) * cover) - 1;
      }
    }
  }
}

/** The `shapes` dataset at resolution x resolution pixels. */
export function shapesDataset(resolution = DEFAULT_RESOLUTION): Dataset {
  checkResolution(resolution);
  const perImage = 3 * resolution * resolution;
  return {
    name: 'shapes',
    kind: 'images',
    shape: [3, resolution, resolution],
    numClasses: SHAPE_KINDS.length,
    classNames: SHAPE_KINDS,
    hasCaptions: true,
    sample(selection, seed) {
      const indices = selectionIndices(selection);
      const uniforms = RngStream.fromSeed(seed, 'shapes').uniform(indices, UNIFORMS_PER_SCENE, new Float64Array(indices.length * UNIFORMS_PER_SCENE));
      const images = new Float32Array(indices.length * perImage);
      const labels = new BigInt64Array(indices.length);
      const captions: string[] = [];
      for (let i = 0; i < indices.length; i++) {
        const s = scene(uniforms.subarray(i * UNIFORMS_PER_SCENE, (i + 1) * UNIFORMS_PER_SCENE));
        render(s, resolution, images, i * perImage);
        labels[i] = BigInt(s.kind);
        captions.push(caption(s));
      }
      return {
        indices,
        x: hostTensor('float32', [indices.length, 3, resolution, resolution], images),
        labels: hostTensor('int64', [indices.length], labels),
        captions,
      };
    },
  };
}
