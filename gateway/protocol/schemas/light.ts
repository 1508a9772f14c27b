import { Type, type Static } from '@sinclair/typebox';
import { command } from './common.js';

/** Light tower (firmware-bridge/devices/lightTower/README.md): green OK, amber attention, red intervention, off = lane closed. */
export const LightColor = Type.Union([Type.Literal('off'), Type.Literal('green'), Type.Literal('amber'), Type.Literal('red')]);
export const LightMode = Type.Union([Type.Literal('steady'), Type.Literal('flash')]);
export const LightSet = command({ color: LightColor, mode: LightMode });

export type LightSetCmd = Static<typeof LightSet>;
