// Product states: until a two-qubit gate acts, a state is a product of one-qubit states. The
// forward pass builds the circuit's start from one 2-vector per wire instead of a pass per gate,
// and the adjoint pass differentiates the gates of that start against 2-vectors instead of
// sweeping the whole state for each.
#pragma once

#include <vector>

namespace hqsweep::product {

// Wire vectors are [qubits][2][W] values (real parts in re, imaginary parts in im): wire w's
// amplitudes of |0> and |1> for each of W lanes. States are [2^qubits][W] values.

// state = a_0 (x) a_1 (x) ... (x) a_{n-1}, qubit 0 the most significant bit of an index.
template <typename T, int W>
void build(const T* wire_re, const T* wire_im, int qubits, T* state_re, T* state_im);

// For every wire w, reduced_w[b] = sum over indices i with bit w = b of
// lambda[i] * conj(prod over v != w of a_v[bit v of i]): lambda contracted with the product of
// the other wires, so that <lambda | G_w | a_0 (x) ... (x) a_{n-1}> = sum_b conj(reduced_w[b])
// (G a_w)[b] for any operator G_w on wire w. Two passes over lambda, whatever the qubit count.
template <typename T, int W>
void contract_all_but_one(const T* wire_re, const T* wire_im, const T* lambda_re,
                          const T* lambda_im, int qubits, T* reduced_re, T* reduced_im,
                          std::vector<T>& work);

}  // namespace hqsweep::product
