// Building product states and contracting a state with all but one wire of one.
#include "simulator/product_state.h"

#include <algorithm>
#include <cstddef>

namespace hqsweep::product {

namespace {

// out = product of the vectors of wires[0..count) (wires[0] the most significant bit), [2^count][W]
// values; an empty product is 1.
template <typename T, int W>
void product_of(const T* wire_re, const T* wire_im, const int* wires, int count, T* out_re,
                T* out_im) {
  for (int l = 0; l < W; ++l) {
    out_re[l] = 1;
    out_im[l] = 0;
  }
  std::size_t size = 1;
  for (int j = 0; j < count; ++j) {
    const T* a_re = wire_re + wires[j] * 2 * W;
    const T* a_im = wire_im + wires[j] * 2 * W;
    // Downwards, so that entry i is read before 2i and 2i + 1 are written.
    for (std::size_t i = size; i-- > 0;) {
      T* lo_re = out_re + 2 * i * W;
      T* lo_im = out_im + 2 * i * W;
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const T xr = out_re[i * W + l], xi = out_im[i * W + l];
        lo_re[W + l] = xr * a_re[W + l] - xi * a_im[W + l];
        lo_im[W + l] = xr * a_im[W + l] + xi * a_re[W + l];
        lo_re[l] = xr * a_re[l] - xi * a_im[l];
        lo_im[l] = xr * a_im[l] + xi * a_re[l];
      }
    }
    size *= 2;
  }
}

// For each wire wires[p] of a group of `count` wires, given v ([2^count][W], contracted with
// every wire outside the group already), sums v times the conjugated product of the group's
// other wires into reduced_wires[p].
template <typename T, int W>
void reduce_group(const T* wire_re, const T* wire_im, const int* wires, int count, const T* v_re,
                  const T* v_im, T* reduced_re, T* reduced_im, std::vector<T>& others) {
  const std::size_t size = std::size_t{1} << count;
  others.resize(size * W);  // 2 x 2^(count - 1) x W
  T* p_re = others.data();
  T* p_im = p_re + size / 2 * W;
  int rest[32];
  for (int p = 0; p < count; ++p) {
    std::copy(wires, wires + p, rest);
    std::copy(wires + p + 1, wires + count, rest + p);
    product_of<T, W>(wire_re, wire_im, rest, count - 1, p_re, p_im);
    const int bit = count - 1 - p;
    const std::size_t low_mask = (std::size_t{1} << bit) - 1;
    T* r_re = reduced_re + wires[p] * 2 * W;
    T* r_im = reduced_im + wires[p] * 2 * W;
    std::fill(r_re, r_re + 2 * W, T(0));
    std::fill(r_im, r_im + 2 * W, T(0));
    for (std::size_t i = 0; i < size; ++i) {
      const std::size_t b = (i >> bit) & 1;
      const std::size_t k = ((i >> (bit + 1)) << bit) | (i & low_mask);  // i without the bit
#pragma omp simd
      for (int l = 0; l < W; ++l) {  // v * conj(p)
        const T xr = v_re[i * W + l], xi = v_im[i * W + l];
        const T yr = p_re[k * W + l], yi = p_im[k * W + l];
        r_re[b * W + l] += xr * yr + xi * yi;
        r_im[b * W + l] += xi * yr - xr * yi;
      }
    }
  }
}

}  // namespace

template <typename T, int W>
void build(const T* wire_re, const T* wire_im, int qubits, T* state_re, T* state_im) {
  int wires[32];
  for (int w = 0; w < qubits; ++w) wires[w] = w;
  product_of<T, W>(wire_re, wire_im, wires, qubits, state_re, state_im);
}

template <typename T, int W>
void contract_all_but_one(const T* wire_re, const T* wire_im, const T* lambda_re,
                          const T* lambda_im, int qubits, T* reduced_re, T* reduced_im,
                          std::vector<T>& work) {
  // Split the wires into a high group (the rows of lambda) and a low group (its columns):
  // mu = lambda contracted with the low group's product, nu = with the high group's; then each
  // group is reduced wire by wire on vectors of 2^(n/2) entries.
  const int high = qubits / 2, low = qubits - high;
  const std::size_t rows = std::size_t{1} << high, cols = std::size_t{1} << low;
  work.assign(4 * (rows + cols) * W, T(0));
  T* high_re = work.data();
  T* high_im = high_re + rows * W;
  T* mu_re = high_im + rows * W;
  T* mu_im = mu_re + rows * W;
  T* low_re = mu_im + rows * W;
  T* low_im = low_re + cols * W;
  T* nu_re = low_im + cols * W;
  T* nu_im = nu_re + cols * W;
  int wires[32];
  for (int w = 0; w < qubits; ++w) wires[w] = w;
  product_of<T, W>(wire_re, wire_im, wires, high, high_re, high_im);
  product_of<T, W>(wire_re, wire_im, wires + high, low, low_re, low_im);
  for (std::size_t row = 0; row < rows; ++row) {
    const T* x_re = lambda_re + row * cols * W;
    const T* x_im = lambda_im + row * cols * W;
    alignas(64) T sum_re[W] = {}, sum_im[W] = {};
    T h_re[W], h_im[W];
    std::copy(high_re + row * W, high_re + (row + 1) * W, h_re);
    std::copy(high_im + row * W, high_im + (row + 1) * W, h_im);
    for (std::size_t col = 0; col < cols; ++col) {
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const T xr = x_re[col * W + l], xi = x_im[col * W + l];
        const T lr = low_re[col * W + l], li = low_im[col * W + l];
        sum_re[l] += xr * lr + xi * li;
        sum_im[l] += xi * lr - xr * li;
        nu_re[col * W + l] += xr * h_re[l] + xi * h_im[l];
        nu_im[col * W + l] += xi * h_re[l] - xr * h_im[l];
      }
    }
    std::copy(sum_re, sum_re + W, mu_re + row * W);
    std::copy(sum_im, sum_im + W, mu_im + row * W);
  }
  std::vector<T> others;
  reduce_group<T, W>(wire_re, wire_im, wires, high, mu_re, mu_im, reduced_re, reduced_im, others);
  reduce_group<T, W>(wire_re, wire_im, wires + high, low, nu_re, nu_im, reduced_re, reduced_im,
                     others);
}

#define HQSWEEP_INSTANTIATE(T, W)                                                               \
  template void build<T, W>(const T*, const T*, int, T*, T*);                                   \
  template void contract_all_but_one<T, W>(const T*, const T*, const T*, const T*, int, T*, T*, \
                                           std::vector<T>&);
HQSWEEP_INSTANTIATE(float, 1)
HQSWEEP_INSTANTIATE(float, 8)
HQSWEEP_INSTANTIATE(float, 16)
HQSWEEP_INSTANTIATE(double, 1)
HQSWEEP_INSTANTIATE(double, 8)
HQSWEEP_INSTANTIATE(double, 16)
#undef HQSWEEP_INSTANTIATE

}  // namespace hqsweep::product
