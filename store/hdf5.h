// Thin RAII wrappers over the HDF5 C API for the store's own .cpp files. Each raw call is checked
// once, here, and a failure becomes an hqsweep::Error that names the file, the object and HDF5's
// own innermost message. Nothing outside store/ includes this header.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <hdf5.h>

namespace hqsweep::hdf5 {

// Owns one hid_t and closes it with the matching H5xclose.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  hid_t id() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now and reports a failure (a close can be where buffered writes fail, e.g. ENOSPC).
  void close(const std::string& what);

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// Turns off HDF5's printing of its error stack; our exceptions carry the message instead.
void silence_errors();

// Throws hqsweep::Error("<context>: <HDF5's message>") when status < 0; returns status otherwise.
int64_t check(int64_t status, const std::string& context);

enum class Access { read_only, read_write };

// Files are opened with HDF5's own file locking off: the store's journal lock decides who writes,
// and a notebook holding the file open must not stop a running sweep.
Handle create_file(const std::string& path);
Handle open_file(const std::string& path, Access access);
// True when the file starts with the HDF5 signature (does not open it).
bool is_hdf5_file(const std::string& path);
void flush_file(const Handle& file, const std::string& path);

Handle open_group(const Handle& parent, const std::string& name);
Handle create_group(const Handle& parent, const std::string& name);
bool link_exists(const Handle& parent, const std::string& name);
void delete_link(const Handle& parent, const std::string& name);
void move_link(const Handle& parent, const std::string& from, const std::string& to);
std::vector<std::string> list_links(const Handle& group);

// Attributes on a file, group or dataset: written replacing any old value.
void write_attribute(const Handle& object, const std::string& name, const std::string& value);
void write_attribute(const Handle& object, const std::string& name, int64_t value);
void write_attribute(const Handle& object, const std::string& name, double value);
bool has_attribute(const Handle& object, const std::string& name);
std::string read_string_attribute(const Handle& object, const std::string& name);
int64_t read_int_attribute(const Handle& object, const std::string& name);
double read_double_attribute(const Handle& object, const std::string& name);

// Whole n-dimensional datasets of one numeric type, written in one call (gzip for large ones).
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const float* data);
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const double* data);
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const int32_t* data);
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const int64_t* data);
void write_string_dataset(const Handle& parent, const std::string& name, const std::string& text);
std::string read_string_dataset(const Handle& parent, const std::string& name);

// Reads a numeric dataset converted to T, with its shape.
template <typename T>
std::vector<T> read_dataset(const Handle& parent, const std::string& name,
                            std::vector<hsize_t>* shape = nullptr);

// A table: a one-dimensional compound dataset whose fields are float64, int64 or variable-length
// UTF-8 strings, so h5py and pandas read it in one call. Rows of an extendable table can be
// appended; any row can be overwritten.
struct Column {
  enum class Type { number, integer, text };
  std::string name;
  Type type;
};
// One cell per column, in column order, holding the column's type.
using Cell = std::variant<double, int64_t, std::string>;
using TableRow = std::vector<Cell>;
void create_table(const Handle& parent, const std::string& name, const std::vector<Column>& columns,
                  const std::vector<TableRow>& rows, bool extendable = false);
// Writes `row` at index `row_index`, extending the table when row_index == its row count.
void write_table_row(const Handle& parent, const std::string& name,
                     const std::vector<Column>& columns, hsize_t row_index, const TableRow& row);
std::vector<Column> table_columns(const Handle& parent, const std::string& name);
hsize_t table_rows(const Handle& parent, const std::string& name);
// Reads one column of every row; numbers and integers come back as numbers.
std::vector<double> read_number_column(const Handle& parent, const std::string& table,
                                       const std::string& column);
std::vector<std::string> read_text_column(const Handle& parent, const std::string& table,
                                          const std::string& column);

}  // namespace hqsweep::hdf5
