namespace GcnNative.Cuda; internal static class Placeholder {}
