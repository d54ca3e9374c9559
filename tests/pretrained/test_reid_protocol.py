"""The "reid" protocol of zoo.pretrained: registered on import, defaults pinned, evaluates a ReIDModel's query against
gallery on a Market-style folder through `evaluate_reid` (equal to calling it), clear errors for what it refuses."""

import numpy as np
import pytest

import zoo
from zoo.pretrained import PROTOCOLS, check_protocol, describe_protocol, evaluate

SIZE = (32, 16)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return zoo.data.synthetic_reid(str(tmp_path_factory.mktemp("reid")), num_train_ids=6, num_test_ids=4, num_cams=3,
                                   images_per_cam=2, num_distractors=3, num_junk=1, image_size=SIZE)


def test_defaults_and_description():
    assert dict(PROTOCOLS["reid"]) == {"kind": "reid", "dataset": "synthetic_reid", "split": "test",
                                       "ap": "non_interpolated", "flip": False, "batch_size": 128, "root": None}
    text = describe_protocol(PROTOCOLS["reid"])
    assert "SYNTHETIC" in text and "same identity and camera removed" in text and "mINP" in text
    assert "official Market AP" in describe_protocol({**PROTOCOLS["reid"], "ap": "market", "dataset": "market1501"})
    for bad, match in (({"ap": "x"}, "ap"), ({"split": "train"}, "'test' split"), ({"limit": 5}, "limit"),
                       ({"dataset": "cifar10"}, "dataset"), ({"root": 3}, "root")):
        with pytest.raises(ValueError, match=match):
            check_protocol({**PROTOCOLS["reid"], **bad})


def test_evaluates_a_reid_model_on_a_market_style_folder(folder):
    model = zoo.models.ReIDModel("hub_resnet", num_classes=6, input_shape=(*SIZE, 3),
                                 backbone_options={"stackwise_num_strides": [1, 1]})
    protocol = {**PROTOCOLS["reid"], "dataset": "market1501", "root": folder, "ap": "market", "flip": True}
    got = evaluate(model, protocol)
    assert set(got) == {"rank1", "rank5", "rank10", "mAP", "mINP"}
    splits = zoo.data.reid("market1501", folder)
    want = model.evaluate_reid(splits.query, splits.gallery, flip=True, ap="market")
    assert got == {k: pytest.approx(float(want[k])) for k in got}
    assert all(np.isfinite(v) and 0 <= v <= 1 for v in got.values())
    with pytest.raises(ValueError, match="root"):
        evaluate(model, {**PROTOCOLS["reid"], "dataset": "market1501"})
    with pytest.raises(TypeError, match="evaluate_reid"):
        evaluate(zoo.models.ImageClassifier("lenet", num_classes=3, input_shape=(28, 28)), protocol)
