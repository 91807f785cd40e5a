// Ray casting an oblique decision tree, pixel by pixel, as the Python renderer's _cast_one does:
// a front-to-back traversal that splits the ray segment [t0, t1] at each branch's plane, visits
// the near child's part first and keeps the far part on a fixed-size stack (the tree's depth + 1,
// so it never overflows). Planes are (normal, offset); a point goes left iff n.x < b, on the plane
// right; a branch's left child is the next node (pre-order), its right child is `next`; a leaf's
// `next` is -1 (outside) or -2 (inside). The viewer prepends #version and the #defines:
//   STACK_SIZE  the stack (tree depth + 1)    TEX_SHIFT  log2 of the node textures' width
//   NORMAL_MAP  shade with normal-map trees   COST       write cells visited (R32UI), not colour
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp isampler2D;
precision highp isampler3D;

#define TEX_MASK ((1 << TEX_SHIFT) - 1)
#define FROM_ORIGIN (-4)  // the ray starts inside the box; box faces are -1 - axis
const float BIG = 3.0e38;  // stands in for +infinity

uniform sampler2D uPlanes;
uniform isampler2D uNext;
uniform vec3 uLo;
uniform vec3 uHi;
uniform vec3 uEye;
uniform vec3 uRight;
uniform vec3 uUp;
uniform vec3 uForward;
uniform float uHalf;  // tan(fov / 2), or half the view height in world units (orthographic)
uniform bool uOrtho;
uniform vec2 uSize;   // image width, height in pixels
uniform vec3 uLight;  // unit vector towards the light
uniform vec3 uColor;
uniform vec4 uMaterial;  // ambient, diffuse, specular, shininess
uniform float uInvGamma;

#if COST
layout(location = 0) out uint outCost;
#else
layout(location = 0) out vec4 outColor;
#endif

vec4 plane(int i) { return texelFetch(uPlanes, ivec2(i & TEX_MASK, i >> TEX_SHIFT), 0); }
int nextOf(int i) { return texelFetch(uNext, ivec2(i & TEX_MASK, i >> TEX_SHIFT), 0).r; }

#if NORMAL_MAP
#define MAX_NORMAL_TREES 64
#define TAPS 12
const float GOLDEN = 2.399963229728653;  // pi (3 - sqrt 5): the Vogel spiral's angle step
uniform sampler2D uNPlanes;
uniform isampler2D uNNext;
uniform int uNRoots[MAX_NORMAL_TREES];
uniform int uNCount;
uniform float uNRadius;
uniform highp isampler3D uNGrid;  // start node of each grid cell, trees stacked along z (startgrid.js)
uniform int uNGridRes;            // cells per axis; 0: every lookup starts at the root
uniform vec3 uNGridCell;          // a cell's size

vec4 nplane(int i) { return texelFetch(uNPlanes, ivec2(i & TEX_MASK, i >> TEX_SHIFT), 0); }
int nnextOf(int i) { return texelFetch(uNNext, ivec2(i & TEX_MASK, i >> TEX_SHIFT), 0).r; }

// The ensemble's unit normal at x (zero where the trees' sum is zero): predict_normals.
vec3 predictNormal(vec3 x) {
  vec3 acc = vec3(0.0);
  // in the box, start at x's grid cell's start node: the same leaf, fewer steps
  bool grid = uNGridRes > 0 && all(greaterThanEqual(x, uLo)) && all(lessThanEqual(x, uHi));
  ivec3 cell = clamp(ivec3(floor((x - uLo) / uNGridCell)), ivec3(0), ivec3(uNGridRes - 1));
  for (int k = 0; k < uNCount; k++) {
    int i = grid ? texelFetch(uNGrid, cell + ivec3(0, 0, k * uNGridRes), 0).r : uNRoots[k];
    vec4 p = nplane(i);
    while (!isinf(p.x)) {
      i = dot(p.xyz, x) < p.w ? i + 1 : nnextOf(i);
      p = nplane(i);
    }
    acc += p.yzw;
  }
  float l = length(acc);
  return l > 0.0 ? acc / l : vec3(0.0);
}

// predict_normals_filtered: TAPS predictions on a disk of radius uNRadius around x, in the plane
// perpendicular to x's own prediction, summed and normalised.
vec3 filteredNormal(vec3 x) {
  vec3 c = predictNormal(x);
  if (uNRadius <= 0.0) return c;
  vec3 helper = abs(c.x) < 0.9 ? vec3(1.0, 0.0, 0.0) : vec3(0.0, 1.0, 0.0);
  vec3 u = cross(c, helper);
  u /= max(length(u), 1e-30);
  vec3 v = cross(c, u);
  vec3 acc = vec3(0.0);
  for (int k = 0; k < TAPS; k++) {
    float rho = uNRadius * sqrt((float(k) + 0.5) / float(TAPS));
    float a = float(k) * GOLDEN;
    acc += predictNormal(x + rho * (cos(a) * u + sin(a) * v));
  }
  float l = length(acc);
  return l > 0.0 ? acc / l : c;
}
#endif

// Unit normal of surface src (a plane, a box face or the origin), facing the ray; zero if none.
vec3 surfaceNormal(int src, vec3 d) {
  vec3 n;
  if (src >= 0) n = plane(src).xyz;
  else if (src == FROM_ORIGIN) n = -d;
  else n = vec3(src == -1 ? 1.0 : 0.0, src == -2 ? 1.0 : 0.0, src == -3 ? 1.0 : 0.0);
  float l = length(n);
  if (l == 0.0) return vec3(0.0);
  return dot(n, d) > 0.0 ? -n / l : n / l;
}

// Blinn-Phong under one light in linear space, then gamma, then rounded to 8 bits (_shade_one).
vec4 shade(vec3 n, vec3 d) {
  vec3 v = -d / length(d);
  if (dot(n, v) < 0.0) n = -n;
  vec3 l = uLight;
  vec3 h = l + v;
  float hl = max(length(h), 1e-30);
  float cosL = clamp(dot(n, l), 0.0, 1.0);
  float cosH = clamp(dot(n, h) / hl, 0.0, 1.0);
  float spec = cosL > 0.0 ? uMaterial.z * pow(cosH, uMaterial.w) : 0.0;
  float lit = uMaterial.x + uMaterial.y * cosL;
  vec3 c = pow(clamp(lit * uColor + spec, 0.0, 1.0), vec3(uInvGamma));
  return vec4(floor(c * 255.0 + 0.5) / 255.0, 1.0);
}

void main() {
  // the pixel's ray, as _pixel_ray builds it (gl_FragCoord is the pixel centre, y from the bottom)
  float s = 2.0 * uHalf / uSize.y;
  float px = (gl_FragCoord.x - 0.5 * uSize.x) * s;
  float py = (gl_FragCoord.y - 0.5 * uSize.y) * s;
  vec3 o = uEye;
  vec3 d = uForward;
  if (uOrtho) o += px * uRight + py * uUp;
  else d = normalize(uForward + px * uRight + py * uUp);

  // clip to the box; src is what bounds t0 (a plane id, a box face or the origin). Written out per
  // axis: indexing a vector in a loop is slow in software renderers.
  bvec3 parallel = equal(d, vec3(0.0));
  bool inBox = !any(bvec3(uvec3(parallel) & (uvec3(lessThan(o, uLo)) | uvec3(greaterThan(o, uHi)))));
  vec3 safe = mix(d, vec3(1.0), parallel);
  vec3 ta = (uLo - o) / safe;
  vec3 tb = (uHi - o) / safe;
  vec3 tNear = mix(min(ta, tb), vec3(-BIG), parallel);
  vec3 tFar = mix(max(ta, tb), vec3(BIG), parallel);
  float t0 = 0.0;
  int src = FROM_ORIGIN;
  if (tNear.x > t0) { t0 = tNear.x; src = -1; }
  if (tNear.y > t0) { t0 = tNear.y; src = -2; }
  if (tNear.z > t0) { t0 = tNear.z; src = -3; }
  float t1 = min(min(tFar.x, tFar.y), tFar.z);

  bool hit = false;
  int cells = 0;
  if (inBox && t0 < t1) {
    ivec2 stNode[STACK_SIZE];  // far child waiting, surface id at the start of its segment
    vec2 stT[STACK_SIZE];      // its segment [t0, t1]
    int sp = 0;
    int node = 0;
    vec4 p = plane(node);
    while (true) {
      while (!isinf(p.x)) {
        float num = p.w - dot(p.xyz, o);
        float dd = dot(p.xyz, d);
        bool goRight;
        bool push = false;
        // dd > 0: left before the plane, right from it on; dd < 0: the reverse
        bool rightFirst = dd < 0.0;
        float ts = 0.0;
        if (dd == 0.0) {  // parallel: the whole segment is on the origin's side
          goRight = !(num > 0.0);
        } else {
          ts = num / dd;
          if (ts <= t0) {
            if (ts == t0) src = node;
            goRight = !rightFirst;
          } else if (ts >= t1) {
            goRight = rightFirst;
          } else {
            push = true;
            goRight = rightFirst;
          }
        }
        int right = goRight || push ? nextOf(node) : 0;  // the left child needs no fetch: node + 1
        if (push) {
          stNode[sp] = ivec2(rightFirst ? node + 1 : right, node);
          stT[sp] = vec2(ts, t1);
          sp++;
          t1 = ts;
        }
        node = goRight ? right : node + 1;
        p = plane(node);
      }
      if (p.y > 0.5) {
        hit = true;
        break;
      }
      cells++;
      if (sp == 0) break;
      sp--;
      node = stNode[sp].x;
      src = stNode[sp].y;
      t0 = stT[sp].x;
      t1 = stT[sp].y;
      p = plane(node);
    }
  }

#if COST
  outCost = uint(cells + (hit ? 1 : 0));
#else
  if (!hit) {
    outColor = vec4(0.0);
    return;
  }
  vec3 n = surfaceNormal(src, d);
#if NORMAL_MAP
  vec3 mapped = filteredNormal(o + t0 * d);
  if (length(mapped) > 0.0) n = mapped;
#endif
  outColor = shade(n, d);
#endif
}
