// The only place the store calls the HDF5 C API: every call checked once, every handle owned.
#include "store/hdf5.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <utility>

#include "common/error.h"

namespace hqsweep::hdf5 {

namespace {

// HDF5 closes what is still open from an atexit handler. After a write failed (a full disk), a
// file's close fails halfway and that handler then crashes in H5F__close_cb (HDF5 1.10: exit
// code 139 after the right message). Every handle here closes itself, every update is flushed
// when it is made, and the journal is the truth, so the library is told to leave exit alone; it
// must hear that before its first call, which a static initialiser guarantees.
const bool kNoAtexitHandler = [] {
  H5dont_atexit();
  return true;
}();

herr_t collect_error(unsigned, const H5E_error2_t* error, void* data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  if (error->desc && *error->desc) messages->emplace_back(error->desc);
  return 0;
}

// HDF5's messages from the innermost failing function outwards, the innermost one first.
std::string error_stack_message() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "HDF5 call failed";
  std::string text = messages.front();
  if (messages.size() > 1 && messages.back() != messages.front())
    text += " (" + messages.back() + ")";
  return text;
}

Handle checked(hid_t id, herr_t (*close)(hid_t), const std::string& context) {
  check(id, context);
  return Handle(id, close);
}

Handle file_access_properties() {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "cannot create file access list");
  check(H5Pset_file_locking(fapl.id(), false, true), "cannot turn off HDF5 file locking");
  // Newest format where 1.10 supports it: smaller metadata, faster attribute access.
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
        "cannot set library version bounds");
  return fapl;
}

Handle string_type() {
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "cannot copy string type");
  check(H5Tset_size(type.id(), H5T_VARIABLE), "cannot make string type variable-length");
  check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "cannot set string type to UTF-8");
  return type;
}

Handle scalar_space() {
  return checked(H5Screate(H5S_SCALAR), H5Sclose, "cannot create dataspace");
}

Handle simple_space(const std::vector<hsize_t>& shape, const hsize_t* max_shape = nullptr) {
  return checked(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), max_shape),
                 H5Sclose, "cannot create dataspace");
}

template <typename T>
hid_t native_type();
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t native_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<int64_t>() {
  return H5T_NATIVE_INT64;
}

template <typename T>
hid_t file_type();
template <>
hid_t file_type<float>() {
  return H5T_IEEE_F32LE;
}
template <>
hid_t file_type<double>() {
  return H5T_IEEE_F64LE;
}
template <>
hid_t file_type<int32_t>() {
  return H5T_STD_I32LE;
}
template <>
hid_t file_type<int64_t>() {
  return H5T_STD_I64LE;
}

template <typename T>
void write_numeric(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const T* data) {
  Handle space = simple_space(shape);
  Handle dataset = checked(H5Dcreate2(parent.id(), name.c_str(), file_type<T>(), space.id(),
                                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           H5Dclose, "cannot create dataset '" + name + "'");
  hsize_t count = 1;
  for (hsize_t d : shape) count *= d;
  if (count > 0) {
    check(H5Dwrite(dataset.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
          "cannot write dataset '" + name + "'");
  }
}

Handle open_attribute(const Handle& object, const std::string& name) {
  return checked(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), H5Aclose,
                 "cannot open attribute '" + name + "'");
}

template <typename T>
void write_scalar_attribute(const Handle& object, const std::string& name, T value) {
  if (has_attribute(object, name))
    check(H5Adelete(object.id(), name.c_str()), "cannot replace attribute '" + name + "'");
  Handle space = scalar_space();
  Handle attribute = checked(
      H5Acreate2(object.id(), name.c_str(), file_type<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, "cannot create attribute '" + name + "'");
  check(H5Awrite(attribute.id(), native_type<T>(), &value),
        "cannot write attribute '" + name + "'");
}

template <typename T>
T read_scalar_attribute(const Handle& object, const std::string& name) {
  Handle attribute = open_attribute(object, name);
  T value{};
  check(H5Aread(attribute.id(), native_type<T>(), &value), "cannot read attribute '" + name + "'");
  return value;
}

hid_t column_file_type(Column::Type type, const Handle& text_type) {
  switch (type) {
    case Column::Type::number:
      return H5T_IEEE_F64LE;
    case Column::Type::integer:
      return H5T_STD_I64LE;
    case Column::Type::text:
      return text_type.id();
  }
  return -1;
}

hid_t column_memory_type(Column::Type type, const Handle& text_type) {
  switch (type) {
    case Column::Type::number:
      return H5T_NATIVE_DOUBLE;
    case Column::Type::integer:
      return H5T_NATIVE_INT64;
    case Column::Type::text:
      return text_type.id();
  }
  return -1;
}

// Every field is 8 bytes (double, int64 or char*), so a row is an array of 8-byte slots.
Handle compound_type(const std::vector<Column>& columns, bool memory) {
  Handle text = string_type();
  Handle type =
      checked(H5Tcreate(H5T_COMPOUND, 8 * columns.size()), H5Tclose, "cannot create table type");
  for (std::size_t i = 0; i < columns.size(); ++i) {
    hid_t member = memory ? column_memory_type(columns[i].type, text)
                          : column_file_type(columns[i].type, text);
    check(H5Tinsert(type.id(), columns[i].name.c_str(), 8 * i, member),
          "cannot add column '" + columns[i].name + "'");
  }
  return type;
}

// Row buffer in the memory layout of compound_type(columns, true). Strings point into `row`.
std::vector<uint64_t> pack_row(const std::vector<Column>& columns, const TableRow& row) {
  HQSWEEP_CHECK(row.size() == columns.size(),
                "table row has " << row.size() << " cells for " << columns.size() << " columns");
  std::vector<uint64_t> slots(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    void* slot = &slots[i];
    switch (columns[i].type) {
      case Column::Type::number: {
        double value = std::get<double>(row[i]);
        std::memcpy(slot, &value, 8);
        break;
      }
      case Column::Type::integer: {
        int64_t value = std::get<int64_t>(row[i]);
        std::memcpy(slot, &value, 8);
        break;
      }
      case Column::Type::text: {
        const char* value = std::get<std::string>(row[i]).c_str();
        std::memcpy(slot, &value, 8);
        break;
      }
    }
  }
  return slots;
}

Handle open_dataset(const Handle& parent, const std::string& name) {
  return checked(H5Dopen2(parent.id(), name.c_str(), H5P_DEFAULT), H5Dclose,
                 "cannot open dataset '" + name + "'");
}

hsize_t dataset_length(const Handle& dataset, const std::string& name) {
  Handle space =
      checked(H5Dget_space(dataset.id()), H5Sclose, "cannot read shape of '" + name + "'");
  hsize_t length = 0;
  check(H5Sget_simple_extent_dims(space.id(), &length, nullptr),
        "cannot read shape of '" + name + "'");
  return length;
}

}  // namespace

Handle::Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = std::exchange(other.id_, -1);
    close_ = other.close_;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ >= 0 && close_) close_(id_);
}

void Handle::close(const std::string& what) {
  if (id_ < 0 || !close_) return;
  hid_t id = std::exchange(id_, -1);
  check(close_(id), "cannot close " + what);
}

void silence_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

int64_t check(int64_t status, const std::string& context) {
  if (status < 0) throw Error(context + ": " + error_stack_message());
  return status;
}

Handle create_file(const std::string& path) {
  silence_errors();
  Handle fapl = file_access_properties();
  return checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()), H5Fclose,
                 "cannot create HDF5 file " + path);
}

Handle open_file(const std::string& path, Access access) {
  silence_errors();
  Handle fapl = file_access_properties();
  unsigned flags = access == Access::read_write ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return checked(H5Fopen(path.c_str(), flags, fapl.id()), H5Fclose,
                 "cannot open HDF5 file " + path);
}

bool is_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char signature[8] = {};
  in.read(signature, 8);
  return in.gcount() == 8 && std::memcmp(signature, "\x89HDF\r\n\x1a\n", 8) == 0;
}

void flush_file(const Handle& file, const std::string& path) {
  check(H5Fflush(file.id(), H5F_SCOPE_GLOBAL), "cannot flush HDF5 file " + path);
}

Handle open_group(const Handle& parent, const std::string& name) {
  return checked(H5Gopen2(parent.id(), name.c_str(), H5P_DEFAULT), H5Gclose,
                 "cannot open group '" + name + "'");
}

Handle create_group(const Handle& parent, const std::string& name) {
  // A run's group has 16 attributes; past HDF5's default of 8 they would move to "dense" storage
  // (a fractal heap and a B-tree per group), which made storing a run several times slower.
  Handle properties =
      checked(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, "cannot create group properties");
  check(H5Pset_attr_phase_change(properties.id(), 32, 24),
        "cannot set the attribute storage of '" + name + "'");
  return checked(H5Gcreate2(parent.id(), name.c_str(), H5P_DEFAULT, properties.id(), H5P_DEFAULT),
                 H5Gclose, "cannot create group '" + name + "'");
}

bool link_exists(const Handle& parent, const std::string& name) {
  return check(H5Lexists(parent.id(), name.c_str(), H5P_DEFAULT), "cannot look up '" + name + "'") >
         0;
}

void delete_link(const Handle& parent, const std::string& name) {
  check(H5Ldelete(parent.id(), name.c_str(), H5P_DEFAULT), "cannot delete '" + name + "'");
}

void move_link(const Handle& parent, const std::string& from, const std::string& to) {
  check(H5Lmove(parent.id(), from.c_str(), parent.id(), to.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot move '" + from + "' to '" + to + "'");
}

namespace {
herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> list_links(const Handle& group) {
  std::vector<std::string> names;
  check(H5Literate(group.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link, &names),
        "cannot list group members");
  return names;
}

void write_attribute(const Handle& object, const std::string& name, const std::string& value) {
  if (has_attribute(object, name))
    check(H5Adelete(object.id(), name.c_str()), "cannot replace attribute '" + name + "'");
  Handle type = string_type();
  Handle space = scalar_space();
  Handle attribute = checked(
      H5Acreate2(object.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, "cannot create attribute '" + name + "'");
  const char* text = value.c_str();
  check(H5Awrite(attribute.id(), type.id(), &text), "cannot write attribute '" + name + "'");
}

void write_attribute(const Handle& object, const std::string& name, int64_t value) {
  write_scalar_attribute(object, name, value);
}

void write_attribute(const Handle& object, const std::string& name, double value) {
  write_scalar_attribute(object, name, value);
}

bool has_attribute(const Handle& object, const std::string& name) {
  return check(H5Aexists(object.id(), name.c_str()), "cannot look up attribute '" + name + "'") > 0;
}

std::string read_string_attribute(const Handle& object, const std::string& name) {
  Handle attribute = open_attribute(object, name);
  Handle stored =
      checked(H5Aget_type(attribute.id()), H5Tclose, "cannot read type of '" + name + "'");
  if (H5Tget_class(stored.id()) != H5T_STRING)
    throw Error("attribute '" + name + "' is not a string");
  Handle type = string_type();
  char* text = nullptr;
  check(H5Aread(attribute.id(), type.id(), &text), "cannot read attribute '" + name + "'");
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

int64_t read_int_attribute(const Handle& object, const std::string& name) {
  return read_scalar_attribute<int64_t>(object, name);
}

double read_double_attribute(const Handle& object, const std::string& name) {
  return read_scalar_attribute<double>(object, name);
}

void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const float* data) {
  write_numeric(parent, name, shape, data);
}
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const double* data) {
  write_numeric(parent, name, shape, data);
}
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const int32_t* data) {
  write_numeric(parent, name, shape, data);
}
void write_dataset(const Handle& parent, const std::string& name, const std::vector<hsize_t>& shape,
                   const int64_t* data) {
  write_numeric(parent, name, shape, data);
}

void write_string_dataset(const Handle& parent, const std::string& name, const std::string& text) {
  Handle type = string_type();
  Handle space = scalar_space();
  Handle dataset = checked(H5Dcreate2(parent.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT,
                                      H5P_DEFAULT, H5P_DEFAULT),
                           H5Dclose, "cannot create dataset '" + name + "'");
  const char* value = text.c_str();
  check(H5Dwrite(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value),
        "cannot write dataset '" + name + "'");
}

std::string read_string_dataset(const Handle& parent, const std::string& name) {
  Handle dataset = open_dataset(parent, name);
  Handle type = string_type();
  char* text = nullptr;
  check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text),
        "cannot read dataset '" + name + "'");
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

template <typename T>
std::vector<T> read_dataset(const Handle& parent, const std::string& name,
                            std::vector<hsize_t>* shape) {
  Handle dataset = open_dataset(parent, name);
  Handle space =
      checked(H5Dget_space(dataset.id()), H5Sclose, "cannot read shape of '" + name + "'");
  int rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space.id()), "cannot read rank"));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0)
    check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), "cannot read shape");
  hsize_t count = 1;
  for (hsize_t d : dims) count *= d;
  std::vector<T> values(count);
  if (count > 0) {
    check(H5Dread(dataset.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "cannot read dataset '" + name + "'");
  }
  if (shape) *shape = dims;
  return values;
}

template std::vector<float> read_dataset<float>(const Handle&, const std::string&,
                                                std::vector<hsize_t>*);
template std::vector<double> read_dataset<double>(const Handle&, const std::string&,
                                                  std::vector<hsize_t>*);
template std::vector<int32_t> read_dataset<int32_t>(const Handle&, const std::string&,
                                                    std::vector<hsize_t>*);
template std::vector<int64_t> read_dataset<int64_t>(const Handle&, const std::string&,
                                                    std::vector<hsize_t>*);

void create_table(const Handle& parent, const std::string& name, const std::vector<Column>& columns,
                  const std::vector<TableRow>& rows, bool extendable) {
  Handle file_row = compound_type(columns, false);
  Handle memory_row = compound_type(columns, true);
  hsize_t length = rows.size();
  hsize_t unlimited = H5S_UNLIMITED;
  Handle space = simple_space({length}, extendable ? &unlimited : nullptr);
  Handle properties =
      checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "cannot create dataset properties");
  if (extendable) {
    // Only extendable tables are chunked: a chunk is allocated whole, which would make a
    // one-row table cost the space of 256 rows.
    hsize_t chunk = 256;
    check(H5Pset_chunk(properties.id(), 1, &chunk), "cannot set chunk size of '" + name + "'");
  }
  Handle dataset = checked(H5Dcreate2(parent.id(), name.c_str(), file_row.id(), space.id(),
                                      H5P_DEFAULT, properties.id(), H5P_DEFAULT),
                           H5Dclose, "cannot create table '" + name + "'");
  if (rows.empty()) return;
  std::vector<uint64_t> buffer;
  buffer.reserve(rows.size() * columns.size());
  for (const TableRow& row : rows) {
    std::vector<uint64_t> packed = pack_row(columns, row);
    buffer.insert(buffer.end(), packed.begin(), packed.end());
  }
  check(H5Dwrite(dataset.id(), memory_row.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
        "cannot write table '" + name + "'");
}

void write_table_row(const Handle& parent, const std::string& name,
                     const std::vector<Column>& columns, hsize_t row_index, const TableRow& row) {
  Handle dataset = open_dataset(parent, name);
  hsize_t length = dataset_length(dataset, name);
  HQSWEEP_CHECK(row_index <= length, "row " << row_index << " beyond table of " << length);
  if (row_index == length) {
    hsize_t extended = length + 1;
    check(H5Dset_extent(dataset.id(), &extended), "cannot extend table '" + name + "'");
  }
  Handle memory_row = compound_type(columns, true);
  Handle file_space =
      checked(H5Dget_space(dataset.id()), H5Sclose, "cannot read shape of '" + name + "'");
  hsize_t start = row_index, count = 1;
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
        "cannot select row of '" + name + "'");
  Handle memory_space = simple_space({1});
  std::vector<uint64_t> packed = pack_row(columns, row);
  // The row's type conversion needs one row of buffer; HDF5's default allocates and zeroes 1 MB
  // for it (and as much again for the background) on every write, which cost more than the rest
  // of storing a short run.
  Handle transfer =
      checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "cannot create transfer properties");
  const std::size_t row_bytes = H5Tget_size(memory_row.id());
  check(H5Pset_buffer(transfer.id(), std::max<std::size_t>(row_bytes, 4096), nullptr, nullptr),
        "cannot size the conversion buffer of '" + name + "'");
  check(H5Dwrite(dataset.id(), memory_row.id(), memory_space.id(), file_space.id(), transfer.id(),
                 packed.data()),
        "cannot write row of table '" + name + "'");
}

std::vector<Column> table_columns(const Handle& parent, const std::string& name) {
  Handle dataset = open_dataset(parent, name);
  Handle type = checked(H5Dget_type(dataset.id()), H5Tclose, "cannot read type of '" + name + "'");
  if (H5Tget_class(type.id()) != H5T_COMPOUND) throw Error("'" + name + "' is not a table");
  int members = static_cast<int>(check(H5Tget_nmembers(type.id()), "cannot read columns"));
  std::vector<Column> columns;
  for (int i = 0; i < members; ++i) {
    char* member_name = H5Tget_member_name(type.id(), static_cast<unsigned>(i));
    if (!member_name) throw Error("cannot read column names of '" + name + "'");
    Column column{member_name, Column::Type::number};
    H5free_memory(member_name);
    switch (H5Tget_member_class(type.id(), static_cast<unsigned>(i))) {
      case H5T_STRING:
        column.type = Column::Type::text;
        break;
      case H5T_INTEGER:
        column.type = Column::Type::integer;
        break;
      default:
        break;
    }
    columns.push_back(column);
  }
  return columns;
}

hsize_t table_rows(const Handle& parent, const std::string& name) {
  return dataset_length(open_dataset(parent, name), name);
}

std::vector<double> read_number_column(const Handle& parent, const std::string& table,
                                       const std::string& column) {
  Handle dataset = open_dataset(parent, table);
  hsize_t length = dataset_length(dataset, table);
  Handle type = checked(H5Tcreate(H5T_COMPOUND, 8), H5Tclose, "cannot create column type");
  check(H5Tinsert(type.id(), column.c_str(), 0, H5T_NATIVE_DOUBLE),
        "cannot select column '" + column + "'");
  std::vector<double> values(length);
  if (length > 0) {
    check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "cannot read column '" + column + "' of '" + table + "'");
  }
  return values;
}

std::vector<std::string> read_text_column(const Handle& parent, const std::string& table,
                                          const std::string& column) {
  Handle dataset = open_dataset(parent, table);
  hsize_t length = dataset_length(dataset, table);
  Handle text = string_type();
  Handle type =
      checked(H5Tcreate(H5T_COMPOUND, sizeof(char*)), H5Tclose, "cannot create column type");
  check(H5Tinsert(type.id(), column.c_str(), 0, text.id()),
        "cannot select column '" + column + "'");
  std::vector<char*> raw(length, nullptr);
  std::vector<std::string> values;
  if (length == 0) return values;
  check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()),
        "cannot read column '" + column + "' of '" + table + "'");
  values.reserve(length);
  for (char* value : raw) values.emplace_back(value ? value : "");
  Handle space = checked(H5Dget_space(dataset.id()), H5Sclose, "cannot read shape");
  H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, raw.data());
  return values;
}

}  // namespace hqsweep::hdf5
