// Gate kernels over one block of a batched state vector: plain functions over raw arrays.
//
// Qubit order: qubit 0 is the most significant bit of a basis-state index (PennyLane's order),
// |q0 q1 ... q_{n-1}> has index sum_q bit_q << (n - 1 - q).
// Argument order: control first, then target; control = -1 means none.
// Block layout: W lanes (W independent states, one per sample) stored as re[2^n][W] and im[2^n][W]:
// real and imaginary parts split, lanes innermost, so that every kernel vectorises across lanes
// (W = 8) or, for W = 1, along amplitudes.
// Per-lane coefficients (c, s, ...) are arrays of W values: per-sample angles cost nothing extra.
#pragma once

#include <cstddef>

namespace hqsweep::kernels {

// The Hermitian generator G of a parametrised gate U(theta) = exp(-i theta/2 G).
enum class Generator { x, y, z, minus_two_p1 };

// How a gate maps a pair of amplitudes (target bit 0 and 1), with the coefficients it reads, W
// values each: RX [c, -is; -is, c] and RY [c, -s; s, c] read c, s; Diagonal reads d0 re, d0 im,
// d1 re, d1 im; Matrix reads m00 re, m00 im, m01 re, m01 im, m10 re, m10 im, m11 re, m11 im; X
// none.
enum class PairOp { rx, ry, diagonal, matrix, x };

// Applies op to every amplitude pair of target (where control, if any, is 1).
template <typename T, int W>
void apply_pair_op(T* re, T* im, int qubits, int control, int target, PairOp op,
                   const T* coefficients);

// Two one-qubit matrices (PairOp::matrix coefficients) on different wires in one sweep over the
// amplitude quadruples those wires span: ka on wire_a, then kb on wire_b (they commute). Half the
// passes of applying them one by one, for states that live beyond L1.
template <typename T, int W>
void apply_matrix_pair(T* re, T* im, int qubits, int wire_a, const T* ka, int wire_b, const T* kb);

// One step of the adjoint pass in a single sweep: when generator is non-null, adds
// Im <lambda_l | G | phi_l> for every lane l to out[l] (the adjoint method's gradient of a gate
// whose generator G acts on target, from the states after that gate); then applies op (the inverse
// of the gate) to both phi and lambda.
template <typename T, int W>
void adjoint_step(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int control,
                  int target, PairOp op, const T* coefficients, const Generator* generator, T* out);

// Two adjoint steps on one wire (no control) in one sweep, each as adjoint_step with a gradient:
// first (op_a, generator_a) adding to out_a, then (op_b, generator_b) adding to out_b. For
// rotations only: op RX with generator X, RY with Y, Diagonal with Z; see rotation_pair_supported.
template <typename T, int W>
void adjoint_step_pair(T* phi_re, T* phi_im, T* lambda_re, T* lambda_im, int qubits, int target,
                       PairOp op_a, const T* coefficients_a, Generator generator_a, T* out_a,
                       PairOp op_b, const T* coefficients_b, Generator generator_b, T* out_b);

// Whether (op, generator) is a rotation adjoint_step_pair takes.
bool rotation_pair_supported(PairOp op, Generator generator);

}  // namespace hqsweep::kernels
