// The heatmap: each pixel's cell count (from the COST pass) through the 256-entry colour map,
// index = round-half-even(cost * 255 / vmax) in exact integers, as the Python renderer's
// np.round(cost / vmax * 255).
precision highp float;
precision highp int;
precision highp usampler2D;

uniform usampler2D uCost;
uniform sampler2D uLut;  // 256 x 1 RGBA8
uniform uint uVmax;
layout(location = 0) out vec4 outColor;

void main() {
  uint cost = texelFetch(uCost, ivec2(gl_FragCoord.xy), 0).r;
  uint q = min(cost, uVmax) * 255u;
  uint k = q / uVmax;
  uint r = q - k * uVmax;
  if (2u * r > uVmax || (2u * r == uVmax && (k & 1u) == 1u)) k += 1u;
  outColor = vec4(texelFetch(uLut, ivec2(int(k), 0), 0).rgb, 1.0);
}
