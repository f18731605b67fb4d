// The class names of the labelled data sets whose readers are Node-only (fashion-mnist.ts,
// cifar10.ts), kept apart from those readers so that the browser (the demo's data picker and
// scatter legend, sources.ts's descriptors) can name the classes without bundling node:fs.
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
