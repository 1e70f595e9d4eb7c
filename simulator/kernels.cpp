// Gate kernels, instantiated for float and double and for W = 1 and W = 8 lanes.
#include "simulator/kernels.h"

#include <cstdint>

namespace hqsweep::kernels {

namespace {

// Calls f(i0, count) for every run of `count` consecutive amplitudes i0.. whose target bit is 0
// and whose control bit (if any) is 1; each is paired with the amplitude `stride` above it.
template <typename F>
inline void for_each_pair(int qubits, int control, int target, F&& f) {
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
inline void for_elements(std::size_t count, F&& f) {
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

template <typename T, int W>
void apply_rx(T* re, T* im, int qubits, int control, int target, const T* c, const T* s) {
  const std::size_t off = stride_of(qubits, target) * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
    for_elements<W>(count, [&](std::size_t j, int l) {
      const T xr = ar[j], xi = ai[j], yr = br[j], yi = bi[j];
      // [c, -is; -is, c]
      ar[j] = c[l] * xr + s[l] * yi;
      ai[j] = c[l] * xi - s[l] * yr;
      br[j] = c[l] * yr + s[l] * xi;
      bi[j] = c[l] * yi - s[l] * xr;
    });
  });
}

template <typename T, int W>
void apply_ry(T* re, T* im, int qubits, int control, int target, const T* c, const T* s) {
  const std::size_t off = stride_of(qubits, target) * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
    for_elements<W>(count, [&](std::size_t j, int l) {
      const T xr = ar[j], xi = ai[j], yr = br[j], yi = bi[j];
      // [c, -s; s, c]
      ar[j] = c[l] * xr - s[l] * yr;
      ai[j] = c[l] * xi - s[l] * yi;
      br[j] = s[l] * xr + c[l] * yr;
      bi[j] = s[l] * xi + c[l] * yi;
    });
  });
}

template <typename T, int W>
void apply_diagonal(T* re, T* im, int qubits, int control, int target, const T* d0_re,
                    const T* d0_im, const T* d1_re, const T* d1_im) {
  const std::size_t off = stride_of(qubits, target) * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
    for_elements<W>(count, [&](std::size_t j, int l) {
      const T xr = ar[j], xi = ai[j], yr = br[j], yi = bi[j];
      ar[j] = d0_re[l] * xr - d0_im[l] * xi;
      ai[j] = d0_re[l] * xi + d0_im[l] * xr;
      br[j] = d1_re[l] * yr - d1_im[l] * yi;
      bi[j] = d1_re[l] * yi + d1_im[l] * yr;
    });
  });
}

template <typename T, int W>
void apply_matrix(T* re, T* im, int qubits, int control, int target, const T* m) {
  const std::size_t off = stride_of(qubits, target) * W;
  const T* m00r = m;
  const T* m00i = m + W;
  const T* m01r = m + 2 * W;
  const T* m01i = m + 3 * W;
  const T* m10r = m + 4 * W;
  const T* m10i = m + 5 * W;
  const T* m11r = m + 6 * W;
  const T* m11i = m + 7 * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
    for_elements<W>(count, [&](std::size_t j, int l) {
      const T xr = ar[j], xi = ai[j], yr = br[j], yi = bi[j];
      ar[j] = m00r[l] * xr - m00i[l] * xi + m01r[l] * yr - m01i[l] * yi;
      ai[j] = m00r[l] * xi + m00i[l] * xr + m01r[l] * yi + m01i[l] * yr;
      br[j] = m10r[l] * xr - m10i[l] * xi + m11r[l] * yr - m11i[l] * yi;
      bi[j] = m10r[l] * xi + m10i[l] * xr + m11r[l] * yi + m11i[l] * yr;
    });
  });
}

template <typename T, int W>
void apply_x(T* re, T* im, int qubits, int control, int target) {
  const std::size_t off = stride_of(qubits, target) * W;
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    T* __restrict ar = re + i0 * W;
    T* __restrict ai = im + i0 * W;
    T* __restrict br = ar + off;
    T* __restrict bi = ai + off;
#pragma omp simd
    for (std::size_t j = 0; j < count * W; ++j) {
      const T xr = ar[j], xi = ai[j];
      ar[j] = br[j];
      ai[j] = bi[j];
      br[j] = xr;
      bi[j] = xi;
    }
  });
}

namespace {

// Im <lambda|G|phi> restricted to one pair of amplitudes (a: target bit 0, b: target bit 1).
template <Generator G, typename T>
inline T pair_overlap(T lar, T lai, T lbr, T lbi, T par, T pai, T pbr, T pbi) {
  if constexpr (G == Generator::X) {  // Im(conj(la) pb + conj(lb) pa)
    return lar * pbi - lai * pbr + lbr * pai - lbi * par;
  } else if constexpr (G == Generator::Y) {  // Im(-i conj(la) pb + i conj(lb) pa)
    return lbr * par + lbi * pai - lar * pbr - lai * pbi;
  } else if constexpr (G == Generator::Z) {  // Im(conj(la) pa - conj(lb) pb)
    return lar * pai - lai * par - lbr * pbi + lbi * pbr;
  } else {  // Im(-2 conj(lb) pb)
    (void)lar, (void)lai, (void)par, (void)pai;
    return -2 * (lbr * pbi - lbi * pbr);
  }
}

template <Generator G, typename T, int W>
void overlap(const T* lambda_re, const T* lambda_im, const T* phi_re, const T* phi_im, int qubits,
             int control, int target, T* out) {
  const std::size_t off = stride_of(qubits, target) * W;
  T acc[W] = {};
  for_each_pair(qubits, control, target, [&](std::size_t i0, std::size_t count) {
    const T* __restrict lar = lambda_re + i0 * W;
    const T* __restrict lai = lambda_im + i0 * W;
    const T* __restrict lbr = lar + off;
    const T* __restrict lbi = lai + off;
    const T* __restrict par = phi_re + i0 * W;
    const T* __restrict pai = phi_im + i0 * W;
    const T* __restrict pbr = par + off;
    const T* __restrict pbi = pai + off;
    if constexpr (W == 1) {
      // One lane: reduce along amplitudes (a vectorised reduction needs the simd clause).
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (std::size_t k = 0; k < count; ++k) {
        sum += pair_overlap<G>(lar[k], lai[k], lbr[k], lbi[k], par[k], pai[k], pbr[k], pbi[k]);
      }
      acc[0] += sum;
    } else {
      for (std::size_t k = 0; k < count; ++k) {
#pragma omp simd
        for (int l = 0; l < W; ++l) {
          const std::size_t j = k * W + l;
          acc[l] += pair_overlap<G>(lar[j], lai[j], lbr[j], lbi[j], par[j], pai[j], pbr[j], pbi[j]);
        }
      }
    }
  });
  for (int l = 0; l < W; ++l) out[l] += acc[l];
}

}  // namespace

template <typename T, int W>
void generator_overlap(const T* lambda_re, const T* lambda_im, const T* phi_re, const T* phi_im,
                       int qubits, int control, int target, Generator generator, T* out) {
  switch (generator) {
    case Generator::X:
      return overlap<Generator::X, T, W>(lambda_re, lambda_im, phi_re, phi_im, qubits, control,
                                         target, out);
    case Generator::Y:
      return overlap<Generator::Y, T, W>(lambda_re, lambda_im, phi_re, phi_im, qubits, control,
                                         target, out);
    case Generator::Z:
      return overlap<Generator::Z, T, W>(lambda_re, lambda_im, phi_re, phi_im, qubits, control,
                                         target, out);
    case Generator::MinusTwoP1:
      return overlap<Generator::MinusTwoP1, T, W>(lambda_re, lambda_im, phi_re, phi_im, qubits,
                                                  control, target, out);
  }
}

#define HQSWEEP_INSTANTIATE_KERNELS(T, W)                                                      \
  template void apply_rx<T, W>(T*, T*, int, int, int, const T*, const T*);                     \
  template void apply_ry<T, W>(T*, T*, int, int, int, const T*, const T*);                     \
  template void apply_diagonal<T, W>(T*, T*, int, int, int, const T*, const T*, const T*,      \
                                     const T*);                                                \
  template void apply_matrix<T, W>(T*, T*, int, int, int, const T*);                           \
  template void apply_x<T, W>(T*, T*, int, int, int);                                          \
  template void generator_overlap<T, W>(const T*, const T*, const T*, const T*, int, int, int, \
                                        Generator, T*);

HQSWEEP_INSTANTIATE_KERNELS(float, 1)
HQSWEEP_INSTANTIATE_KERNELS(float, 8)
HQSWEEP_INSTANTIATE_KERNELS(double, 1)
HQSWEEP_INSTANTIATE_KERNELS(double, 8)

}  // namespace hqsweep::kernels
