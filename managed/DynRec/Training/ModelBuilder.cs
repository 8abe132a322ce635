using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;

namespace DynRec.Training;

/// <summary>
/// Creates a model by registry name (pepnet, apg, m2m, dnn, shared_bottom,
/// mmoe) for a data schema, with the config's `model` section and a kernel
/// path. DynRec.Models.ModelFactory.Create(name, schema, key/values, kernels)
/// converts to it as a method group.
/// </summary>
public delegate MultiTaskModel ModelBuilder(string modelName, FeatureSchema schema, ModelSection options, Kernels kernels);
