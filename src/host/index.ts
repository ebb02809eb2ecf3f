// Host model: types, loaders (JSON file, `ip -j` output), the default host, lowering to the image.
export * from './model.js';
export * from './lower.js';
