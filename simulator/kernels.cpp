// Gate kernels, instantiated for float and double and for W = 1, 8 and 16 lanes.
#include "simulator/kernels.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>

namespace hqsweep::kernels {

namespace {

// The per-amplitude helpers below must be inlined into every kernel loop for it to vectorise;
// GCC's unit-growth limit otherwise leaves some call sites calling them (measured 4x slower).
#define HQSWEEP_KERNEL_INLINE inline __attribute__((always_inline))

// Calls f(i0, count) for every run of `count` consecutive amplitudes i0.. whose target bit is 0
// and whose control bit (if any) is 1; each is paired with the amplitude `stride` above it.
template <typename F>
HQSWEEP_KERNEL_INLINE void for_each_pair(int qubits, int control, int target, F&& f) {
  const std::size_t n = std::size_t{1} << qubits;
  const std::size_t stride = std::size_t{1} << (qubits - 1 - target);
  if (control < 0) {
    for (std::size_t hi = 0; hi < n; hi += 2 * stride) f(hi, stride);
    return;
  }
  const std::size_t control_bit = std::size_t{1} << (qubits - 1 - control);
  for (std::size_t hi = 0; hi < n; hi += 2 * stride) {
    if (control_bit > stride) {
      if (hi & control_bit) f(hi, stride);
    } else {
      for (std::size_t k = control_bit; k < stride; k += 2 * control_bit) f(hi + k, control_bit);
    }
  }
}

inline std::size_t stride_of(int qubits, int target) {
  return std::size_t{1} << (qubits - 1 - target);
}

// Calls f(j, l) for the element j = k * W + l of every amplitude k < count and lane l < W,
// vectorising along amplitudes for one lane and across lanes otherwise.
template <int W, typename F>
HQSWEEP_KERNEL_INLINE void for_elements(std::size_t count, F&& f) {
  if constexpr (W == 1) {
#pragma omp simd
    for (std::size_t k = 0; k < count; ++k) f(k, 0);
  } else {
    for (std::size_t k = 0; k < count; ++k) {
#pragma omp simd
      for (int l = 0; l < W; ++l) f(k * W + l, l);
    }
  }
}

}  // namespace

namespace {

// A gate's action on one pair of amplitudes (x: target bit 0, y: target bit 1) in lane l.
template <PairOp Op, typename T, int W>
HQSWEEP_KERNEL_INLINE void pair_apply(T& xr, T& xi, T& yr, T& yi, const T* k, int l) {
  if constexpr (Op == PairOp::rx) {  // [c, -is; -is, c]
    const T c = k[l], s = k[W + l];
    const T ar = c * xr + s * yi, ai = c * xi - s * yr, br = c * yr + s * xi, bi = c * yi - s * xr;
    xr = ar, xi = ai, yr = br, yi = bi;
  } else if constexpr (Op == PairOp::ry) {  // [c, -s; s, c]
    const T c = k[l], s = k[W + l];
    const T ar = c * xr - s * yr, ai = c * xi - s * yi, br = s * xr + c * yr, bi = s * xi + c * yi;
    xr = ar, xi = ai, yr = br, yi = bi;
  } else if constexpr (Op == PairOp::diagonal) {
    const T d0r = k[l], d0i = k[W + l], d1r = k[2 * W + l], d1i = k[3 * W + l];
    const T ar = d0r * xr - d0i * xi, ai = d0r * xi + d0i * xr;
    const T br = d1r * yr - d1i * yi, bi = d1r * yi + d1i * yr;
    xr = ar, xi = ai, yr = br, yi = bi;
  } else if constexpr (Op == PairOp::matrix) {
    const T m00r = k[l], m00i = k[W + l], m01r = k[2 * W + l], m01i = k[3 * W + l];
    const T m10r = k[4 * W + l], m10i = k[5 * W + l], m11r = k[6 * W + l], m11i = k[7 * W + l];
    const T ar = m00r * xr - m00i * xi + m01r * yr - m01i * yi;
    const T ai = m00r * xi + m00i * xr + m01r * yi + m01i * yr;
    const T br = m10r * xr - m10i * xi + m11r * yr - m11i * yi;
    const T bi = m10r * xi + m10i * xr + m11r * yi + m11i * yr;
    xr = ar, xi = ai, yr = br, yi = bi;
  } else {  // X
    (void)k, (void)l;
    std::swap(xr, yr);
    std::swap(xi, yi);
  }
}

template <PairOp Op, typename T, int W>
void apply_pairs(T* re, T* im, int qubits, int control, int target, const T* k) {
  const std::size_t off = stride_of(qubits, target) * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
    for_elements<W>(count, [&](std::size_t j, int l) {
      T xr = ar[j], xi = ai[j], yr = br[j], yi = bi[j];
      pair_apply<Op, T, W>(xr, xi, yr, yi, k, l);
      ar[j] = xr, ai[j] = xi, br[j] = yr, bi[j] = yi;
    });
  });
}

}  // namespace

template <typename T, int W>
void apply_pair_op(T* re, T* im, int qubits, int control, int target, PairOp op, const T* k) {
  switch (op) {
    case PairOp::rx:
      return apply_pairs<PairOp::rx, T, W>(re, im, qubits, control, target, k);
    case PairOp::ry:
      return apply_pairs<PairOp::ry, T, W>(re, im, qubits, control, target, k);
    case PairOp::diagonal:
      return apply_pairs<PairOp::diagonal, T, W>(re, im, qubits, control, target, k);
    case PairOp::matrix:
      return apply_pairs<PairOp::matrix, T, W>(re, im, qubits, control, target, k);
    case PairOp::x:
      return apply_pairs<PairOp::x, T, W>(re, im, qubits, control, target, k);
  }
}

namespace {

// Calls f(i0, count) for every run of `count` consecutive amplitudes whose bits on both wires are
// 0 (strides high > low); the quadruple of i is i, i + low, i + high, i + high + low.
template <typename F>
HQSWEEP_KERNEL_INLINE void for_each_quadruple(int qubits, std::size_t high, std::size_t low,
                                              F&& f) {
  const std::size_t n = std::size_t{1} << qubits;
  for (std::size_t hi = 0; hi < n; hi += 2 * high) {
    for (std::size_t mid = 0; mid < high; mid += 2 * low) f(hi + mid, low);
  }
}

}  // namespace

template <typename T, int W>
void apply_matrix_pair(T* re, T* im, int qubits, int wire_a, const T* ka, int wire_b, const T* kb) {
  // The matrices commute: apply the higher-stride wire's first, so the pairing is fixed.
  if (stride_of(qubits, wire_a) < stride_of(qubits, wire_b)) {
    std::swap(wire_a, wire_b);
    std::swap(ka, kb);
  }
  const std::size_t high = stride_of(qubits, wire_a), low = stride_of(qubits, wire_b);
  for_each_quadruple(qubits, high, low, [&](std::size_t i0, std::size_t count) {
    // Entry q of the quadruple is amplitude i0 + (q & 2 ? high : 0) + (q & 1 ? low : 0).
    T* __restrict r0 = re + i0 * W;
    T* __restrict r1 = r0 + low * W;
    T* __restrict r2 = r0 + high * W;
    T* __restrict r3 = r2 + low * W;
    T* __restrict m0 = im + i0 * W;
    T* __restrict m1 = m0 + low * W;
    T* __restrict m2 = m0 + high * W;
    T* __restrict m3 = m2 + low * W;
    for_elements<W>(count, [&](std::size_t j, int l) {
      T x0r = r0[j], x0i = m0[j], x1r = r1[j], x1i = m1[j];
      T x2r = r2[j], x2i = m2[j], x3r = r3[j], x3i = m3[j];
      pair_apply<PairOp::matrix, T, W>(x0r, x0i, x2r, x2i, ka, l);
      pair_apply<PairOp::matrix, T, W>(x1r, x1i, x3r, x3i, ka, l);
      pair_apply<PairOp::matrix, T, W>(x0r, x0i, x1r, x1i, kb, l);
      pair_apply<PairOp::matrix, T, W>(x2r, x2i, x3r, x3i, kb, l);
      r0[j] = x0r, m0[j] = x0i, r1[j] = x1r, m1[j] = x1i;
      r2[j] = x2r, m2[j] = x2i, r3[j] = x3r, m3[j] = x3i;
    });
  });
}

namespace {

// Im <lambda|G|phi> restricted to one pair of amplitudes (a: target bit 0, b: target bit 1).
template <Generator G, typename T>
HQSWEEP_KERNEL_INLINE T pair_overlap(T lar, T lai, T lbr, T lbi, T par, T pai, T pbr, T pbi) {
  if constexpr (G == Generator::x) {  // Im(conj(la) pb + conj(lb) pa)
    return lar * pbi - lai * pbr + lbr * pai - lbi * par;
  } else if constexpr (G == Generator::y) {  // Im(-i conj(la) pb + i conj(lb) pa)
    return lbr * par + lbi * pai - lar * pbr - lai * pbi;
  } else if constexpr (G == Generator::z) {  // Im(conj(la) pa - conj(lb) pb)
    return lar * pai - lai * par - lbr * pbi + lbi * pbr;
  } else {  // Im(-2 conj(lb) pb)
    (void)lar, (void)lai, (void)par, (void)pai;
    return -2 * (lbr * pbi - lbi * pbr);
  }
}

// Generator index None (4) means "no gradient for this gate, only undo it".
template <PairOp Op, int G, typename T, int W>
void adjoint_step_impl(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int control,
                       int target, const T* k, T* out) {
  const std::size_t off = stride_of(qubits, target) * W;
  T acc[W] = {};
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict par = phi_re + i0 * W;
    T* __restrict pai = phi_im + i0 * W;
    T* __restrict pbr = par + off;
    T* __restrict pbi = pai + off;
    T* __restrict lar = lambda_re + i0 * W;
    T* __restrict lai = lambda_im + i0 * W;
    T* __restrict lbr = lar + off;
    T* __restrict lbi = lai + off;
    auto step = [&](std::size_t j, int l) -> T {
      T xr = par[j], xi = pai[j], yr = pbr[j], yi = pbi[j];
      T ur = lar[j], ui = lai[j], vr = lbr[j], vi = lbi[j];
      T overlap = 0;
      if constexpr (G < 4)
        overlap = pair_overlap<static_cast<Generator>(G)>(ur, ui, vr, vi, xr, xi, yr, yi);
      pair_apply<Op, T, W>(xr, xi, yr, yi, k, l);
      pair_apply<Op, T, W>(ur, ui, vr, vi, k, l);
      par[j] = xr, pai[j] = xi, pbr[j] = yr, pbi[j] = yi;
      lar[j] = ur, lai[j] = ui, lbr[j] = vr, lbi[j] = vi;
      return overlap;
    };
    if constexpr (W == 1) {
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (std::size_t k2 = 0; k2 < count; ++k2) sum += step(k2, 0);
      acc[0] += sum;
    } else {
      for (std::size_t k2 = 0; k2 < count; ++k2) {
#pragma omp simd
        for (int l = 0; l < W; ++l) acc[l] += step(k2 * W + l, l);
      }
    }
  });
  if constexpr (G < 4) {
    for (int l = 0; l < W; ++l) out[l] += acc[l];
  } else {
    (void)out;
  }
}

template <PairOp Op, typename T, int W>
void adjoint_step_for_op(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int control,
                         int target, const T* k, const Generator* generator, T* out) {
  const int g = generator ? static_cast<int>(*generator) : 4;
  switch (g) {
    case 0:
      return adjoint_step_impl<Op, 0, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits, control,
                                            target, k, out);
    case 1:
      return adjoint_step_impl<Op, 1, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits, control,
                                            target, k, out);
    case 2:
      return adjoint_step_impl<Op, 2, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits, control,
                                            target, k, out);
    case 3:
      return adjoint_step_impl<Op, 3, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits, control,
                                            target, k, out);
    default:
      return adjoint_step_impl<Op, 4, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits, control,
                                            target, k, out);
  }
}

}  // namespace

template <typename T, int W>
void adjoint_step(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int control,
                  int target, PairOp op, const T* coefficients, const Generator* generator,
                  T* out) {
  switch (op) {
    case PairOp::rx:
      return adjoint_step_for_op<PairOp::rx, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits,
                                                   control, target, coefficients, generator, out);
    case PairOp::ry:
      return adjoint_step_for_op<PairOp::ry, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits,
                                                   control, target, coefficients, generator, out);
    case PairOp::diagonal:
      return adjoint_step_for_op<PairOp::diagonal, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                         qubits, control, target, coefficients,
                                                         generator, out);
    case PairOp::matrix:
      return adjoint_step_for_op<PairOp::matrix, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits,
                                                       control, target, coefficients, generator,
                                                       out);
    case PairOp::x:
      return adjoint_step_for_op<PairOp::x, T, W>(phi_re, phi_im, lambda_re, lambda_im, qubits,
                                                  control, target, coefficients, generator, out);
  }
}

namespace {

// Rotation kinds adjoint_step_pair takes, as (pair operation, generator).
enum class Rotation { x, y, z };

template <Rotation R>
constexpr PairOp op_of() {
  return R == Rotation::x ? PairOp::rx : R == Rotation::y ? PairOp::ry : PairOp::diagonal;
}

template <Rotation R>
constexpr Generator generator_of() {
  return R == Rotation::x ? Generator::x : R == Rotation::y ? Generator::y : Generator::z;
}

template <Rotation A, Rotation B, typename T, int W>
void adjoint_step_pair_impl(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits,
                            int target, const T* ka, T* out_a, const T* kb, T* out_b) {
  const std::size_t off = stride_of(qubits, target) * W;
  T acc_a[W] = {}, acc_b[W] = {};
  for_each_pair(qubits, -1, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict par = phi_re + i0 * W;
    T* __restrict pai = phi_im + i0 * W;
    T* __restrict pbr = par + off;
    T* __restrict pbi = pai + off;
    T* __restrict lar = lambda_re + i0 * W;
    T* __restrict lai = lambda_im + i0 * W;
    T* __restrict lbr = lar + off;
    T* __restrict lbi = lai + off;
    auto step = [&](std::size_t j, int l, T& overlap_a, T& overlap_b) {
      T xr = par[j], xi = pai[j], yr = pbr[j], yi = pbi[j];
      T ur = lar[j], ui = lai[j], vr = lbr[j], vi = lbi[j];
      overlap_a = pair_overlap<generator_of<A>()>(ur, ui, vr, vi, xr, xi, yr, yi);
      pair_apply<op_of<A>(), T, W>(xr, xi, yr, yi, ka, l);
      pair_apply<op_of<A>(), T, W>(ur, ui, vr, vi, ka, l);
      overlap_b = pair_overlap<generator_of<B>()>(ur, ui, vr, vi, xr, xi, yr, yi);
      pair_apply<op_of<B>(), T, W>(xr, xi, yr, yi, kb, l);
      pair_apply<op_of<B>(), T, W>(ur, ui, vr, vi, kb, l);
      par[j] = xr, pai[j] = xi, pbr[j] = yr, pbi[j] = yi;
      lar[j] = ur, lai[j] = ui, lbr[j] = vr, lbi[j] = vi;
    };
    if constexpr (W == 1) {
      T sum_a = 0, sum_b = 0;
#pragma omp simd reduction(+ : sum_a, sum_b)
      for (std::size_t k2 = 0; k2 < count; ++k2) {
        T a, b;
        step(k2, 0, a, b);
        sum_a += a;
        sum_b += b;
      }
      acc_a[0] += sum_a;
      acc_b[0] += sum_b;
    } else {
      for (std::size_t k2 = 0; k2 < count; ++k2) {
#pragma omp simd
        for (int l = 0; l < W; ++l) {
          T a, b;
          step(k2 * W + l, l, a, b);
          acc_a[l] += a;
          acc_b[l] += b;
        }
      }
    }
  });
  for (int l = 0; l < W; ++l) {
    out_a[l] += acc_a[l];
    out_b[l] += acc_b[l];
  }
}

int rotation_index(PairOp op, Generator generator) {
  if (op == PairOp::rx && generator == Generator::x) return 0;
  if (op == PairOp::ry && generator == Generator::y) return 1;
  if (op == PairOp::diagonal && generator == Generator::z) return 2;
  return -1;
}

template <Rotation A, typename T, int W>
void adjoint_step_pair_second(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits,
                              int target, const T* ka, T* out_a, int b, const T* kb, T* out_b) {
  switch (b) {
    case 0:
      return adjoint_step_pair_impl<A, Rotation::x, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                          qubits, target, ka, out_a, kb, out_b);
    case 1:
      return adjoint_step_pair_impl<A, Rotation::y, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                          qubits, target, ka, out_a, kb, out_b);
    default:
      return adjoint_step_pair_impl<A, Rotation::z, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                          qubits, target, ka, out_a, kb, out_b);
  }
}

}  // namespace

bool rotation_pair_supported(PairOp op, Generator generator) {
  return rotation_index(op, generator) >= 0;
}

template <typename T, int W>
void adjoint_step_pair(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int target,
                       PairOp op_a, const T* coefficients_a, Generator generator_a, T* out_a,
                       PairOp op_b, const T* coefficients_b, Generator generator_b, T* out_b) {
  const int a = rotation_index(op_a, generator_a), b = rotation_index(op_b, generator_b);
  if (a < 0 || b < 0) throw std::logic_error("adjoint_step_pair: not a pair of rotations");
  switch (a) {
    case 0:
      return adjoint_step_pair_second<Rotation::x, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                         qubits, target, coefficients_a, out_a, b,
                                                         coefficients_b, out_b);
    case 1:
      return adjoint_step_pair_second<Rotation::y, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                         qubits, target, coefficients_a, out_a, b,
                                                         coefficients_b, out_b);
    default:
      return adjoint_step_pair_second<Rotation::z, T, W>(phi_re, phi_im, lambda_re, lambda_im,
                                                         qubits, target, coefficients_a, out_a, b,
                                                         coefficients_b, out_b);
  }
}

#define HQSWEEP_INSTANTIATE_KERNELS(T, W)                                                          \
  template void apply_pair_op<T, W>(T*, T*, int, int, int, PairOp, const T*);                      \
  template void apply_matrix_pair<T, W>(T*, T*, int, int, const T*, int, const T*);                \
  template void adjoint_step<T, W>(T*, T*, T*, T*, int, int, int, PairOp, const T*,                \
                                   const Generator*, T*);                                          \
  template void adjoint_step_pair<T, W>(T*, T*, T*, T*, int, int, PairOp, const T*, Generator, T*, \
                                        PairOp, const T*, Generator, T*);

HQSWEEP_INSTANTIATE_KERNELS(float, 1)
HQSWEEP_INSTANTIATE_KERNELS(float, 8)
HQSWEEP_INSTANTIATE_KERNELS(float, 16)
HQSWEEP_INSTANTIATE_KERNELS(double, 1)
HQSWEEP_INSTANTIATE_KERNELS(double, 8)
HQSWEEP_INSTANTIATE_KERNELS(double, 16)

}  // namespace hqsweep::kernels
