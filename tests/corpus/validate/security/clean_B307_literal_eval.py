import ast


def retrieval(x: str) -> str:
    return x


def evaluate(x: str) -> object:
    return ast.literal_eval(retrieval(x))


class Model:
    def eval(self) -> "Model":
        return self


Model().eval()
medieval = retrieval("eval(")
