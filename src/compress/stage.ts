// The stage of a U-Net module path: an encoder or decoder level ('enc.1', 'dec.0'), or the middle.
// Progressive incubation trains stage by stage; CLME experts inherit the layers pruned in their stage.

export const stageOf = (path: string): string => (path.startsWith('mid') ? 'mid' : path.split('.').slice(0, 2).join('.'));
