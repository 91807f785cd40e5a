// The Python renderer's camera model (shapetree's orbit_camera and Camera), in float64 like it:
// the same orbit parameters give the same eye, image-plane basis and pixel rays.

const UP_AXES = { x: 0, y: 1, z: 2 };

const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a) => Math.hypot(a[0], a[1], a[2]);
const rad = (deg) => (deg * Math.PI) / 180;

/** Orbit parameters of the default view (the Python renderer's defaults). */
export const DEFAULT_ORBIT = Object.freeze({
  azimuth: 30, elevation: 20, up: "y", fov: 30, orthographic: false, margin: 1, pan: [0, 0],
});

/**
 * A camera on a sphere around bounds (Float64Array(6): min xyz, max xyz) framing its bounding
 * sphere, as orbit_camera builds it. margin scales the distance (zoom); pan moves eye and target
 * along the image plane, in units of the sphere's radius.
 * Returns {eye, target, up, fov, orthoHeight (null for perspective)}.
 */
export function orbitCamera(bounds, orbit) {
  const o = { ...DEFAULT_ORBIT, ...orbit };
  if (!(o.up in UP_AXES)) throw new Error(`up must be one of x, y, z, got ${o.up}`);
  if (!(o.fov > 0 && o.fov < 180)) throw new Error(`field of view must be in (0, 180) degrees, got ${o.fov}`);
  const lo = [bounds[0], bounds[1], bounds[2]];
  const hi = [bounds[3], bounds[4], bounds[5]];
  let center = scale(add(lo, hi), 0.5);
  const radius = Math.max(0.5 * norm(sub(hi, lo)), 1e-12) * o.margin;
  const ua = UP_AXES[o.up];
  const up = [0, 0, 0];
  up[ua] = 1;
  const front = [0, 0, 0];
  front[(ua + 1) % 3] = 1;
  const side = cross(up, front);
  const az = rad(o.azimuth);
  const el = rad(o.elevation);
  const direction = add(scale(add(scale(front, Math.cos(az)), scale(side, Math.sin(az))), Math.cos(el)),
    scale(up, Math.sin(el)));
  const distance = o.orthographic ? 3 * radius : radius / Math.sin(rad(o.fov) / 2);
  if (o.pan[0] !== 0 || o.pan[1] !== 0) {
    const { right, up: camUp } = basis({ eye: add(center, direction), target: center, up });
    const r0 = radius / o.margin;
    center = add(center, add(scale(right, o.pan[0] * r0), scale(camUp, o.pan[1] * r0)));
  }
  return {
    eye: add(center, scale(direction, distance)), target: center, up, fov: o.fov,
    orthoHeight: o.orthographic ? 2 * radius : null,
  };
}

/** Unit {right, up, forward} of the image plane, as Camera.basis computes them. */
export function basis(camera) {
  let forward = sub(camera.target, camera.eye);
  const n = norm(forward);
  if (!(n > 0)) throw new Error("camera eye and target coincide");
  forward = scale(forward, 1 / n);
  let right = cross(forward, camera.up);
  if (norm(right) < 1e-9) {
    // looking along up: any perpendicular will do (the same one as the Python camera's)
    right = cross(forward, [camera.up[2], camera.up[0], camera.up[1]]);
  }
  right = scale(right, 1 / norm(right));
  return { right, up: cross(right, forward), forward };
}

/** What the shader needs: eye, basis, half height of the view (tan or world units), ortho flag. */
export function projection(camera) {
  const b = basis(camera);
  const ortho = camera.orthoHeight !== null && camera.orthoHeight !== undefined;
  return { eye: camera.eye, ...b, half: ortho ? camera.orthoHeight / 2 : Math.tan(rad(camera.fov) / 2), ortho };
}

/** The headlight a little above and left of the eye (camera_light): unit vector towards it. */
export function cameraLight(camera) {
  const { right, up, forward } = basis(camera);
  const l = add(add(scale(forward, -1), scale(up, 0.45)), scale(right, -0.3));
  return scale(l, 1 / norm(l));
}
