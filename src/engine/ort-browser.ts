// The browser's default binding (package.json "#ort", browser condition): onnxruntime-web's main
// build, wasm with WebGPU available. A page that wants a lighter build chooses one with useOrt().

import * as ort from 'onnxruntime-web';
import { webOrt } from './ort-web.js';

export const platformOrt = webOrt(ort);
