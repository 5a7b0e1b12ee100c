// psfid's N-API addon over libtorch: the only C++ in the project.
//
// Design (see ../shared/DESIGN.md for the measurements behind it):
// - Tensors live in a native handle table; JavaScript holds plain integer handles. This avoids one ObjectWrap shell
//   per tensor, which fragmented glibc's heap between multi-MB buffers and let RSS grow without bound.
// - One generic entry, `call(opId, args)`, runs any ATen operator through the dispatcher (boxed), so autograd, CPU
//   and CUDA kernels come for free. Arguments are converted from JavaScript by the operator's own schema.
// - Every libtorch error becomes a JavaScript Error carrying libtorch's message (without its C++ backtrace); the
//   process never aborts on a bad call.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Handle tables
// ---------------------------------------------------------------------------------------------------------------

std::vector<at::Tensor> g_tensors;
std::vector<int32_t> g_freeTensors;
int64_t g_liveTensors = 0;

std::vector<at::Generator> g_generators;
std::vector<int32_t> g_freeGenerators;

std::vector<c10::OperatorHandle> g_ops;

int32_t storeTensor(at::Tensor t) {
  g_liveTensors++;
  if (!g_freeTensors.empty()) {
    int32_t h = g_freeTensors.back();
    g_freeTensors.pop_back();
    g_tensors[h] = std::move(t);
    return h;
  }
  g_tensors.push_back(std::move(t));
  return static_cast<int32_t>(g_tensors.size() - 1);
}

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ArgTypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const at::Tensor& tensorAt(int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(g_tensors.size()) || !g_tensors[h].defined()) {
    throw UserError("psfid engine: tensor handle " + std::to_string(h) + " is not live (disposed?)");
  }
  return g_tensors[h];
}

at::Generator& generatorAt(int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(g_generators.size()) || !g_generators[h].defined()) {
    throw UserError("psfid engine: generator handle " + std::to_string(h) + " is not live");
  }
  return g_generators[h];
}

// Runs `body`, turning every C++ exception into a JavaScript exception. Returns undefined on error.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  Napi::Env env = info.Env();
  try {
    return body(env);
  } catch (const c10::Error& e) {
    Napi::Error::New(env, e.what_without_backtrace()).ThrowAsJavaScriptException();
  } catch (const ArgTypeError& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

int64_t toInt(const Napi::Value& v, const std::string& what) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgTypeError(what + ": expected an integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  throw ArgTypeError(what + ": expected an integer");
}

double toDouble(const Napi::Value& v, const std::string& what) {
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
  throw ArgTypeError(what + ": expected a number");
}

bool toBool(const Napi::Value& v, const std::string& what) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
  throw ArgTypeError(what + ": expected a boolean");
}

// A tensor argument is passed from JavaScript as its integer handle.
const at::Tensor& toTensor(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw ArgTypeError(what + ": expected a tensor handle");
  return tensorAt(v.As<Napi::Number>().Int64Value());
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const std::string& what, int64_t fixedLength);

c10::IValue listToIValue(const Napi::Value& v, const c10::TypePtr& elem, const std::string& what, int64_t fixedLength) {
  // A lone number for a fixed-length int list (e.g. `int[2] stride`) is repeated, as TorchScript does.
  std::vector<Napi::Value> items;
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) items.push_back(a.Get(i));
  } else if (v.IsNumber() && fixedLength > 0) {
    for (int64_t i = 0; i < fixedLength; i++) items.push_back(v);
  } else {
    throw ArgTypeError(what + ": expected an array");
  }
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> out;
      for (auto& x : items) out.push_back(toInt(x, what));
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      for (auto& x : items) out.push_back(toDouble(x, what));
      return out;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (auto& x : items) out.push_back(toBool(x, what));
      return out;
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      for (auto& x : items) out.push_back(toTensor(x, what));
      return out;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      for (auto& x : items) {
        if (x.IsNull() || x.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(toTensor(x, what));
      }
      return out;
    }
    default:
      throw UserError(what + ": unsupported list element type " + elem->str());
  }
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const std::string& what, int64_t fixedLength) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(v, type->castRaw<c10::OptionalType>()->getElementType(), what, fixedLength);
    case c10::TypeKind::TensorType:
      return toTensor(v, what);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return toInt(v, what);
    case c10::TypeKind::FloatType:
      return toDouble(v, what);
    case c10::TypeKind::BoolType:
      return toBool(v, what);
    case c10::TypeKind::NumberType:  // Scalar: integers stay integers so that integer tensors keep their dtype.
      if (v.IsBoolean()) return c10::IValue(at::Scalar(v.As<Napi::Boolean>().Value()));
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::abs(d) < 9.0e15 && d == static_cast<double>(static_cast<int64_t>(d))) return c10::IValue(at::Scalar(static_cast<int64_t>(d)));
        return c10::IValue(at::Scalar(d));
      }
      throw ArgTypeError(what + ": expected a number");
    case c10::TypeKind::StringType:
      if (!v.IsString()) throw ArgTypeError(what + ": expected a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) throw ArgTypeError(what + ": expected a device string");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case c10::TypeKind::GeneratorType:
      if (!v.IsNumber()) throw ArgTypeError(what + ": expected a generator handle");
      return c10::IValue(generatorAt(v.As<Napi::Number>().Int64Value()));
    case c10::TypeKind::ListType:
      return listToIValue(v, type->castRaw<c10::ListType>()->getElementType(), what, fixedLength);
    default:
      throw UserError(what + ": unsupported argument type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return Napi::Number::New(env, storeTensor(t));
  }
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, c10::IValue(list.get(i))));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, Napi::Number::New(env, static_cast<double>(list.get(i))));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(i, fromIValue(env, elems[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, list[i]));
    return out;
  }
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  throw UserError("psfid engine: cannot return a value of type " + v.tagKind());
}

// ---------------------------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------------------------

// op(name, overload) -> id. Resolve once; call many times.
Napi::Value Op(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle.has_value()) throw UserError("psfid engine: no operator " + name + (overload.empty() ? "" : "." + overload) + " in this libtorch");
    g_ops.push_back(*handle);
    return Napi::Number::New(env, static_cast<double>(g_ops.size() - 1));
  });
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    std::ostringstream s;
    s << g_ops.at(id).schema();
    return Napi::String::New(env, s.str());
  });
}

// call(opId, args[], discardResult?) -> result (a single value, or an array for several returns).
Napi::Value Call(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    if (id < 0 || id >= static_cast<int64_t>(g_ops.size())) throw UserError("psfid engine: bad operator id");
    const c10::OperatorHandle& op = g_ops[id];
    const auto& schema = op.schema();
    const auto& params = schema.arguments();
    Napi::Array args = info[1].As<Napi::Array>();
    bool discard = info.Length() > 2 && info[2].ToBoolean().Value();
    uint32_t given = args.Length();
    if (given > params.size()) throw ArgTypeError(schema.name() + ": too many arguments (" + std::to_string(given) + " for " + std::to_string(params.size()) + ")");
    torch::jit::Stack stack;
    stack.reserve(params.size());
    for (size_t i = 0; i < params.size(); i++) {
      const auto& p = params[i];
      Napi::Value v = i < given ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
      if (v.IsUndefined()) {
        if (p.default_value().has_value()) {
          stack.push_back(*p.default_value());
        } else if (p.type()->kind() == c10::TypeKind::OptionalType) {
          stack.emplace_back();
        } else {
          throw ArgTypeError(schema.name() + ": missing argument '" + p.name() + "'");
        }
        continue;
      }
      stack.push_back(toIValue(v, p.type(), schema.name() + " argument '" + p.name() + "'", p.N().value_or(0)));
    }
    op.callBoxed(&stack);
    if (discard) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors: lifetime, data, metadata
// ---------------------------------------------------------------------------------------------------------------

Napi::Value Release(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    auto releaseOne = [](int64_t h) {
      if (h < 0 || h >= static_cast<int64_t>(g_tensors.size()) || !g_tensors[h].defined()) return;
      g_tensors[h] = at::Tensor();
      g_freeTensors.push_back(static_cast<int32_t>(h));
      g_liveTensors--;
    };
    if (info[0].IsNumber()) {
      releaseOne(info[0].As<Napi::Number>().Int64Value());
    } else if (info[0].IsTypedArray()) {
      Napi::Int32Array a = info[0].As<Napi::Int32Array>();
      for (size_t i = 0; i < a.ElementLength(); i++) releaseOne(a[i]);
    } else if (info[0].IsArray()) {
      Napi::Array a = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) releaseOne(a.Get(i).As<Napi::Number>().Int64Value());
    }
    return env.Undefined();
  });
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_liveTensors));
}

// dtype codes are c10::ScalarType values (Float = 6, Double = 7, Int = 3, Long = 4, Bool = 11, ComplexFloat = 9, ...).
Napi::Value FromData(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsTypedArray()) throw ArgTypeError("fromData: expected a typed array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    Napi::Array shapeJs = info[1].As<Napi::Array>();
    auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (uint32_t i = 0; i < shapeJs.Length(); i++) {
      int64_t d = toInt(shapeJs.Get(i), "fromData shape");
      if (d < 0) throw ArgTypeError("fromData: negative dimension");
      shape.push_back(d);
      numel *= d;
    }
    size_t itemBytes = c10::elementSize(dtype);
    if (static_cast<size_t>(numel) * itemBytes != ta.ByteLength()) {
      throw ArgTypeError("fromData: " + std::to_string(ta.ByteLength()) + " bytes do not fill shape of " + std::to_string(numel) + " elements of " + std::to_string(itemBytes) + " bytes");
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel > 0) {
      auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      std::memcpy(t.data_ptr(), base, ta.ByteLength());
    }
    return Napi::Number::New(env, storeTensor(t));
  });
}

// toData(h) -> ArrayBuffer holding a contiguous CPU copy of the tensor's elements.
Napi::Value ToData(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    at::NoGradGuard noGrad;
    t = t.detach().to(at::kCPU).contiguous();
    if (t.is_conj()) t = t.resolve_conj();
    if (t.is_neg()) t = t.resolve_neg();
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
    if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    return buf;
  });
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    auto sizes = t.sizes();
    Napi::Array out = Napi::Array::New(env, sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
    return out;
  });
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<int>(tensorAt(info[0].As<Napi::Number>().Int64Value()).scalar_type()));
  });
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::String::New(env, tensorAt(info[0].As<Napi::Number>().Int64Value()).device().str());
  });
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    if (t.numel() != 1) throw UserError("item: tensor has " + std::to_string(t.numel()) + " elements, expected 1");
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, t.item<bool>());
    return Napi::Number::New(env, t.item<double>());
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Autograd
// ---------------------------------------------------------------------------------------------------------------

// backward(handles[], gradHandles[] | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Array hs = info[0].As<Napi::Array>();
    std::vector<at::Tensor> outputs, grads;
    for (uint32_t i = 0; i < hs.Length(); i++) outputs.push_back(toTensor(hs.Get(i), "backward"));
    if (info[1].IsArray()) {
      Napi::Array gs = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < gs.Length(); i++) grads.push_back(toTensor(gs.Get(i), "backward grad"));
    }
    bool retain = info.Length() > 2 && info[2].ToBoolean().Value();
    bool create = info.Length() > 3 && info[3].ToBoolean().Value();
    torch::autograd::backward(outputs, grads, retain, create);
    return env.Undefined();
  });
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    const at::Tensor& g = t.grad();
    if (!g.defined()) return env.Null();
    return Napi::Number::New(env, storeTensor(g));
  });
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = toTensor(info[1], "setGrad");
    return env.Undefined();
  });
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    t.set_requires_grad(info[1].ToBoolean().Value());
    return env.Undefined();
  });
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Boolean::New(env, tensorAt(info[0].As<Napi::Number>().Int64Value()).requires_grad());
  });
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// ---------------------------------------------------------------------------------------------------------------
// Random generators (CPU; device tensors are drawn on the CPU and moved, so a seed means the same numbers everywhere)
// ---------------------------------------------------------------------------------------------------------------

Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    uint64_t seed = static_cast<uint64_t>(toInt(info[0], "generator seed"));
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
    int32_t h;
    if (!g_freeGenerators.empty()) {
      h = g_freeGenerators.back();
      g_freeGenerators.pop_back();
      g_generators[h] = g;
    } else {
      g_generators.push_back(g);
      h = static_cast<int32_t>(g_generators.size() - 1);
    }
    return Napi::Number::New(env, h);
  });
}

Napi::Value ReleaseGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t h = info[0].As<Napi::Number>().Int64Value();
    generatorAt(h);
    g_generators[h] = at::Generator();
    g_freeGenerators.push_back(static_cast<int32_t>(h));
    return env.Undefined();
  });
}

// The generator's full state as bytes, for checkpoints.
Napi::Value GeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& g = generatorAt(info[0].As<Napi::Number>().Int64Value());
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      state = g.get_state();
    }
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, state.data_ptr<uint8_t>(), state.numel());
    return out;
  });
}

Napi::Value SetGeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& g = generatorAt(info[0].As<Napi::Number>().Int64Value());
    Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
    at::Tensor state = at::empty({static_cast<int64_t>(bytes.ElementLength())}, at::kByte);
    std::memcpy(state.data_ptr(), bytes.Data(), bytes.ElementLength());
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
    return env.Undefined();
  });
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(toInt(info[0], "seed")));
    return env.Undefined();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------------------------

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int n = static_cast<int>(toInt(info[0], "threads"));
    if (n < 1) throw UserError("setNumThreads: need at least 1 thread");
    at::set_num_threads(n);
    return env.Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  });
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
#if defined(PSFID_CUDA)
    if (torch::cuda::is_available()) torch::cuda::synchronize();
#endif
    return env.Undefined();
  });
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

// Keeps glibc from returning multi-MB tensor buffers to the kernel after every step (page faults in every FFT) and
// from serving them through mmap; equivalent to MALLOC_MMAP_THRESHOLD_=32MiB, MALLOC_TRIM_THRESHOLD_=1GiB,
// MALLOC_TOP_PAD_=64MiB, which the probe measured at PyTorch's speed. An explicit environment setting wins.
void tuneAllocator() {
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TOP_PAD_")) mallopt(M_TOP_PAD, 64 << 20);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneAllocator();
  auto def = [&](const char* name, Napi::Function::Callback fn) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  def("op", Op);
  def("opSchema", OpSchema);
  def("call", Call);
  def("release", Release);
  def("liveTensors", LiveTensors);
  def("fromData", FromData);
  def("toData", ToData);
  def("shape", Shape);
  def("dtype", Dtype);
  def("device", DeviceOf);
  def("item", Item);
  def("backward", Backward);
  def("grad", Grad);
  def("setGrad", SetGrad);
  def("setRequiresGrad", SetRequiresGrad);
  def("requiresGrad", RequiresGrad);
  def("setGradEnabled", SetGradEnabled);
  def("isGradEnabled", IsGradEnabled);
  def("newGenerator", NewGenerator);
  def("releaseGenerator", ReleaseGenerator);
  def("generatorState", GeneratorState);
  def("setGeneratorState", SetGeneratorState);
  def("manualSeed", ManualSeed);
  def("setNumThreads", SetNumThreads);
  def("getNumThreads", GetNumThreads);
  def("cudaDeviceCount", CudaDeviceCount);
  def("cudaSynchronize", CudaSynchronize);
  def("version", Version);
#if defined(PSFID_CUDA)
  exports.Set("cudaBuild", Napi::Boolean::New(env, true));
#else
  exports.Set("cudaBuild", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(psfid_torch, Init)
