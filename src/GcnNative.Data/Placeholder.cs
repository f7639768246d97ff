namespace GcnNative.Data; internal static class Placeholder {}
