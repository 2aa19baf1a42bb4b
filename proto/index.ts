// One import for every wire package: `import { eraftpb, kvrpcpb } from '#proto';`
export * as eraftpb from './gen/eraftpb.ts';
